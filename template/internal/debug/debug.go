// Package debug serves the private diagnostics listener: pprof profiles and expvar variables.
// It builds its own ServeMux and registers every handler explicitly, so nothing reaches the
// public listener (and nothing depends on http.DefaultServeMux).
package debug

import (
	"encoding/json"
	"expvar"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// MaxProfileDuration is the longest CPU profile, execution trace or delta profile the listener
// allows. net/http/pprof extends the write deadline by whatever `seconds` asks for, so without
// this cap one request could hold the process's only CPU-profiling slot for hours.
const MaxProfileDuration = 120 * time.Second

// NewHandler returns the private mux: /debug/pprof/* and /debug/vars. vars holds the service's
// own variables (GOMAXPROCS, GOMEMLIMIT, pool and writer statistics); it is served beside the
// standard "cmdline" and "memstats" entries, so tools that read expvar's format work unchanged.
// args is the command line; both endpoints that show it show it redacted (RedactArgs).
func NewHandler(vars *expvar.Map, args []string) http.Handler {
	args = RedactArgs(args)
	mux := http.NewServeMux()
	mux.Handle("GET /debug/pprof/", limitSeconds(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/cmdline", cmdlineHandler(args))
	mux.Handle("GET /debug/pprof/profile", limitSeconds(http.HandlerFunc(pprof.Profile)))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.Handle("GET /debug/pprof/trace", limitSeconds(http.HandlerFunc(pprof.Trace)))
	mux.Handle("GET /debug/vars", varsHandler(vars, args))
	return mux
}

// redacted replaces a secret in RedactArgs' output.
const redacted = "xxxxx"

// RedactArgs returns a copy of args that can be shown to operators: the password of every URL
// (postgres://user:secret@host/db, as in -database-url) and the value of password=, secret=
// and similar parameters are replaced with "xxxxx". Nothing else changes.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = redactParams(redactURL(arg))
	}
	return out
}

// redactParams hides the value of every key=value pair in s whose key names a secret:
// libpq's password parameters (in a URL's query or in key=value form) and common spellings.
// A value ends at white space, '&' or ';'.
func redactParams(s string) string {
	var b strings.Builder
	for i := 0; ; {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		eq += i
		key := eq
		for key > i && isKeyByte(s[key-1]) {
			key--
		}
		end := eq + 1
		for end < len(s) && !strings.ContainsRune(" \t\n&;", rune(s[end])) {
			end++
		}
		b.WriteString(s[i : eq+1])
		switch strings.ToLower(s[key:eq]) {
		case "password", "passwd", "pwd", "sslpassword", "secret", "token":
			b.WriteString(redacted)
		default:
			b.WriteString(s[eq+1 : end])
		}
		i = end
	}
}

func isKeyByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// redactURL hides the password of a URL in arg, which may be "-flag=URL" or the URL alone.
func redactURL(arg string) string {
	prefix, value := "", arg
	if strings.HasPrefix(arg, "-") {
		if name, v, ok := strings.Cut(arg, "="); ok {
			prefix, value = name+"=", v
		}
	}
	if !strings.Contains(value, "://") {
		return arg
	}
	u, err := url.Parse(value)
	if err != nil {
		// Unparsable: keep the scheme, hide the rest rather than guess what is secret.
		scheme, _, _ := strings.Cut(value, "://")
		return prefix + scheme + "://" + redacted
	}
	if _, hasPassword := u.User.Password(); !hasPassword {
		return arg
	}
	u.User = url.UserPassword(u.User.Username(), redacted)
	return prefix + u.String()
}

// cmdlineHandler serves args NUL-separated, as net/http/pprof's Cmdline does with os.Args.
func cmdlineHandler(args []string) http.Handler {
	body := strings.Join(args, "\x00")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(body))
	})
}

// Timeouts of the private listener, set by run on its http.Server: short for reading a request
// (only operators call it). The write timeout covers ordinary responses; the pprof handlers
// extend it for the duration a profile asks for, which limitSeconds caps.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = time.Minute
	MaxHeaderBytes    = 16 << 10
)

// limitSeconds refuses a `seconds` parameter that is not a whole number of seconds between 0
// and MaxProfileDuration with 400, before the profile starts.
func limitSeconds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw := r.URL.Query().Get("seconds"); raw != "" {
			sec, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || sec < 0 || time.Duration(sec)*time.Second > MaxProfileDuration {
				http.Error(w, "seconds must be a whole number from 0 to "+
					strconv.Itoa(int(MaxProfileDuration.Seconds())), http.StatusBadRequest)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// varsHandler writes the expvar JSON document for vars, with args as "cmdline". It does not
// use expvar.Handler, which serves the process-wide registry and the raw os.Args; the service
// keeps its variables in a map it owns.
func varsHandler(vars *expvar.Map, args []string) http.Handler {
	cmdline, _ := json.Marshal(args) // []string always marshals
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		doc := map[string]json.RawMessage{"cmdline": cmdline}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if b, err := json.Marshal(&ms); err == nil {
			doc["memstats"] = b
		}
		vars.Do(func(kv expvar.KeyValue) {
			doc[kv.Key] = json.RawMessage(kv.Value.String())
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		_ = enc.Encode(doc) // the client went away; nothing else to do
	})
}
