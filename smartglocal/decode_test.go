package smartglocal

import (
	"errors"
	"testing"
)

func TestDecodeReply(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantKind string // "ok", "refused", "unknown"
		wantCode string
	}{
		{"ok", 200, `{"status":"ok","session":{"id":"ps_1","status":"created"}}`, "ok", ""},
		{"ok with unknown fields", 200, `{"status":"ok","extra":[1,2],"session":{"id":"ps_1","new":{}}}`, "ok", ""},
		{"ok despite HTTP 4xx: the body decides", 400, `{"status":"ok","session":{"id":"ps_1"}}`, "ok", ""},
		{"refused 400", 400, `{"status":"error","error":{"code":"invalid_request","description":"bad"}}`, "refused", "invalid_request"},
		{"refused 409", 409, `{"status":"error","error":{"code":"session_wrong_state"}}`, "refused", "session_wrong_state"},
		{"refused with HTTP 200", 200, `{"status":"error","error":{"code":"x"}}`, "refused", "x"},
		{"refused without error object", 401, `{"status":"error"}`, "refused", ""},
		{"5xx with error body", 500, `{"status":"error","error":{"code":"internal_error"}}`, "unknown", ""},
		{"5xx with ok body", 503, `{"status":"ok","session":{"id":"ps_1"}}`, "unknown", ""},
		{"5xx html", 502, `<html>Bad Gateway</html>`, "unknown", ""},
		{"ok without session", 200, `{"status":"ok"}`, "unknown", ""},
		{"ok with null session", 200, `{"status":"ok","session":null}`, "unknown", ""},
		{"ok, session of wrong type", 200, `{"status":"ok","session":"ps_1"}`, "unknown", ""},
		{"truncated", 200, `{"status":"ok","session":{"id":"ps_`, "unknown", ""},
		{"empty", 200, ``, "unknown", ""},
		{"html 404", 404, `<html>not found</html>`, "unknown", ""},
		{"no status", 200, `{"session":{"id":"ps_1"}}`, "unknown", ""},
		{"odd status", 200, `{"status":"OK","session":{"id":"ps_1"}}`, "unknown", ""},
		{"array", 200, `[]`, "unknown", ""},
		{"redirect", 302, ``, "unknown", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r sessionReply
			err := decodeReply(tt.status, []byte(tt.body), &r)
			var perr *Error
			kind := "unknown"
			switch {
			case err == nil:
				kind = "ok"
			case errors.As(err, &perr):
				kind = "refused"
			}
			if kind != tt.wantKind {
				t.Fatalf("decodeReply = %v (%s), want %s", err, kind, tt.wantKind)
			}
			if perr != nil && (perr.Code != tt.wantCode || perr.HTTPStatus != tt.status) {
				t.Errorf("error = %+v, want code %q, HTTP %d", perr, tt.wantCode, tt.status)
			}
			if kind == "ok" && r.Session.ID != "ps_1" {
				t.Errorf("session = %+v", r.Session)
			}
		})
	}
}

func FuzzDecodeReply(f *testing.F) {
	f.Add(200, []byte(`{"status":"ok","session":{"id":"ps_1","payments":[{"id":"po_1"}]}}`))
	f.Add(400, []byte(`{"status":"error","error":{"code":"invalid_request"}}`))
	f.Add(500, []byte(`{"status":"error"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		for _, out := range []reply{&sessionReply{}, &tokenReply{}, &tokenInfoReply{}, &walletReply{}} {
			err := decodeReply(status, body, out)
			var perr *Error
			switch {
			case err == nil:
				if status >= 500 {
					t.Fatalf("HTTP %d accepted as success", status)
				}
				if out.check() != nil {
					t.Fatalf("accepted an incomplete reply %T", out)
				}
			case errors.As(err, &perr):
				if status >= 500 {
					t.Fatalf("HTTP %d treated as a refusal", status)
				}
			}
		}
	})
}
