package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envReader reads typed values from the environment and remembers every value it could not
// parse, so that Load reports them together.
type envReader struct {
	getenv   func(string) string
	problems []error
}

func (e *envReader) str(key, def string) string {
	if v := strings.TrimSpace(e.getenv(key)); v != "" {
		return v
	}
	return def
}

func (e *envReader) integer(key string, def int) int {
	v := strings.TrimSpace(e.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.problems = append(e.problems, fmt.Errorf("%s %q: want an integer", key, v))
		return def
	}
	return n
}

func (e *envReader) int64(key string, def int64) int64 {
	v := strings.TrimSpace(e.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.problems = append(e.problems, fmt.Errorf("%s %q: want an integer", key, v))
		return def
	}
	return n
}

func (e *envReader) boolean(key string, def bool) bool {
	v := strings.TrimSpace(e.getenv(key))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.problems = append(e.problems, fmt.Errorf("%s %q: want true or false", key, v))
		return def
	}
	return b
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.getenv(key))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.problems = append(e.problems, fmt.Errorf("%s %q: want a duration such as 500ms or 5s", key, v))
		return def
	}
	return d
}

// appendIf adds the formatted problem when bad holds; the checks of every group of settings use it.
func appendIf(problems []error, bad bool, format string, args ...any) []error {
	if bad {
		return append(problems, fmt.Errorf(format, args...))
	}
	return problems
}
