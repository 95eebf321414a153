package server

import (
	"encoding/json"
	"io"
	"net/http"
)

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a failed write means the client left
}

// fixedJSON is a JSON response that never changes (the probes' answers): its body is written
// once, when the handler is built, so serving it encodes and allocates nothing.
type fixedJSON struct {
	status      int
	body        string   // as json.Encoder would write it, newline included
	contentType []string // shared by every response; net/http only reads it
}

// newFixedJSON returns the response status with body, a JSON document without its newline.
func newFixedJSON(status int, body string) fixedJSON {
	return fixedJSON{status: status, body: body + "\n", contentType: []string{"application/json"}}
}

func (f fixedJSON) write(w http.ResponseWriter) {
	w.Header()["Content-Type"] = f.contentType
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body) // a failed write means the client left
}

// errorBody is the body of every error response: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}
