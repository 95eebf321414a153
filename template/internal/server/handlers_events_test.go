package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeEventsAcceptsArrayAndNDJSON(t *testing.T) {
	for name, body := range map[string]string{
		"array":  `[{"kind":"click","payload":{"x":1}},{"kind":"view","payload":{}}]`,
		"ndjson": "{\"kind\":\"click\",\"payload\":{\"x\":1}}\n{\"kind\":\"view\",\"payload\":{}}\n",
	} {
		events, err := decodeEvents([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(events) != 2 || events[0].Kind != "click" || string(events[1].Payload) != "{}" {
			t.Errorf("%s: decoded %+v", name, events)
		}
	}
}

func TestDecodeEventsRejectsBadInput(t *testing.T) {
	huge := "[" + strings.TrimSuffix(strings.Repeat(`{"kind":"k","payload":{}},`, maxEventsPerRequest+1), ",") + "]"
	for name, body := range map[string]string{
		"empty":           "",
		"empty array":     "[]",
		"not json":        "hello",
		"wrong kind type": `[{"kind":1,"payload":{}}]`,
		"missing kind":    `[{"payload":{}}]`,
		"payload array":   `[{"kind":"k","payload":[1]}]`,
		"payload missing": `[{"kind":"k"}]`,
		"unknown field":   `[{"kind":"k","payload":{},"extra":true}]`,
		"trailing data":   `[{"kind":"k","payload":{}}] []`,
		"invalid utf-8":   "[{\"kind\":\"\xff\",\"payload\":{}}]",
		"too many":        huge,
		"long kind":       `[{"kind":"` + strings.Repeat("k", maxKindLength+1) + `","payload":{}}]`,
	} {
		if _, err := decodeEvents([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeEvents(f *testing.F) {
	for _, seed := range []string{
		`[{"kind":"click","payload":{"x":1}}]`,
		"{\"kind\":\"a\",\"payload\":{}}\n{\"kind\":\"b\",\"payload\":{}}",
		"[]", "", "\xff", `[{"kind":"k","payload":[]}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := decodeEvents(body)
		if err != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatal("accepted invalid UTF-8")
		}
		if len(events) == 0 || len(events) > maxEventsPerRequest {
			t.Fatalf("accepted %d events", len(events))
		}
		for _, e := range events {
			if e.Kind == "" || len(e.Payload) == 0 || e.Payload[0] != '{' {
				t.Fatalf("accepted invalid event %+v", e)
			}
		}
	})
}
