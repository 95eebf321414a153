package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// jsonbVerdict reports whether the server parses payload as jsonb. A refusal
// must be one of the errors jsonb input raises; anything else (a lost
// connection) fails the test.
func jsonbVerdict(t *testing.T, conn *pgx.Conn, payload string) bool {
	t.Helper()
	// The SQLSTATEs with which jsonb input refuses a document:
	// invalid_text_representation (a lone surrogate), untranslatable_character
	// (\u0000), numeric_value_out_of_range, statement_too_complex (stack
	// depth) and program_limit_exceeded (sizes).
	jsonbInputErrors := []string{"22P02", "22P05", "22003", "54001", "54000"}
	var kind string
	err := conn.QueryRow(context.Background(), "SELECT jsonb_typeof($1::text::jsonb)", payload).Scan(&kind)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return true
	case errors.As(err, &pgErr) && slices.Contains(jsonbInputErrors, pgErr.Code):
		return false
	default:
		t.Fatalf("SELECT $1::jsonb of %.60s: %v", payload, err)
		return false
	}
}

// TestValidatorAgreesWithPostgres checks the payload rules against the real
// server: every payload of the corpus that validateEvents accepts, jsonb
// accepts too (the rules are sound), and every offender the rules document
// as one jsonb refuses, both refuse. Generated numbers and escapes must get
// the same verdict from both (the rules are exact there), except 0e±1073741823,
// which only PostgreSQL 16 and later accept. Finally the accepted payloads
// below 1 MiB are stored through the store's own INSERT.
func TestValidatorAgreesWithPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testPostgresURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)

	var accepted []Event // small enough to store together quickly
	check := func(name, payload string, exact bool) {
		t.Helper()
		event := Event{Kind: "corpus", Payload: json.RawMessage(payload)}
		valid := validateEvents([]Event{event}) == nil
		stored := jsonbVerdict(t, conn, payload)
		switch {
		case valid && !stored:
			t.Errorf("%s: the validator accepts %.80s, jsonb refuses it", name, payload)
		case exact && !valid && stored && !strings.Contains(payload, "1073741823"):
			t.Errorf("%s: the validator refuses %.80s, jsonb accepts it", name, payload)
		case valid && len(payload) < 1<<20:
			accepted = append(accepted, event)
		}
	}

	for _, c := range payloadRuleCases() {
		check(c.name, c.payload, false)
		if c.jsonbRefuses && jsonbVerdict(t, conn, c.payload) {
			t.Errorf("%s: documented as refused by jsonb, but jsonb accepts %.80s", c.name, c.payload)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		check(fmt.Sprintf("generated number %d", i), `{"n":`+randomNumber(r)+`}`, true)
		check(fmt.Sprintf("generated escapes %d", i), randomEscapes(r), true)
	}
	// The largest payloads of the shapes that cost jsonb most for their
	// text: an array of zeros (six times its text in jsonb, and the most
	// parser memory per byte among arrays), and an object of the shortest
	// pairs (more parser memory per pair). Each takes about 2s.
	check("16 MiB array of zeros", "[0"+strings.Repeat(",0", (maxPayloadBytes-3)/2)+"]", false)
	check("16 MiB object", `{"":0`+strings.Repeat(`,"":0`, (maxPayloadBytes-6)/5)+`}`, false)

	db := openTestDB(t)
	if err := db.Insert(ctx, accepted); err != nil {
		t.Errorf("Insert of the %d accepted payloads: %v", len(accepted), err)
	}
}

// TestDepthLimitHoldsAtSmallestStackDepth checks the reason for 512 levels:
// PostgreSQL parses them even with max_stack_depth at its minimum, 100kB.
func TestDepthLimitHoldsAtSmallestStackDepth(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testPostgresURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET max_stack_depth = '100kB'"); err != nil {
		t.Skipf("cannot lower max_stack_depth (it needs a superuser): %v", err)
	}
	mixed := strings.Repeat(`[{"a":`, maxPayloadDepth/2) + "0" + strings.Repeat("}]", maxPayloadDepth/2)
	for _, payload := range []string{nested(maxPayloadDepth, false), nested(maxPayloadDepth, true), mixed} {
		if err := validateEvents([]Event{{Kind: "deep", Payload: json.RawMessage(payload)}}); err != nil {
			t.Fatalf("validateEvents: %v", err)
		}
		if !jsonbVerdict(t, conn, payload) {
			t.Errorf("with max_stack_depth = 100kB jsonb refuses %d levels: %.40s...", maxPayloadDepth, payload)
		}
	}
}
