package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/sessions"

	"countersign/store"
)

// Session value keys. Values hold only these, with these types.
const (
	keyUserID    = "uid"     // int64, absent before login
	keyCSRF      = "csrf"    // string
	keyCreatedAt = "created" // int64 unix nanoseconds, for the absolute timeout
	// keyStepUpAt is when this session's step-up window opened (int64 unix
	// nanoseconds): a correct second-factor code covers the same person's
	// decisions for a while. Login starts with fresh values, so a window
	// never outlives the sign-in it was opened in.
	keyStepUpAt = "stepup"
)

const sessionCookie = "countersign_session"

// sessionStore is a gorilla/sessions Store over the sessions table. The cookie
// holds only a random token; everything else stays on the server, so logout,
// expiry, deactivation and "end sessions" take effect on the very next request.
type sessionStore struct {
	db       *store.DB
	options  sessions.Options
	idle     time.Duration
	absolute time.Duration
	now      func() time.Time
}

var _ sessions.Store = (*sessionStore)(nil)

func newSessionStore(db *store.DB, secure bool, idle, absolute time.Duration, now func() time.Time) *sessionStore {
	s := &sessionStore{db: db, idle: idle, absolute: absolute, now: now}
	s.options = sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	// gorilla/sessions defaults to a 30-day cookie; ours lives no longer than the
	// absolute timeout (gorilla/sessions issue #48: set it on the store, not per session).
	s.MaxAge(int(absolute / time.Second))
	return s
}

// MaxAge sets how long the browser keeps the cookie.
func (s *sessionStore) MaxAge(age int) { s.options.MaxAge = age }

// Get returns the request's session, new if it has none or it has expired.
func (s *sessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or starts an empty one.
func (s *sessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess, _, err := s.load(r, name)
	return sess, err
}

// touchEvery is how stale a session's last-seen time may be before a request
// writes it again: the idle timeout is counted in minutes or hours, so
// writing it on every page (an fsync'd write per GET) bought nothing.
const touchEvery = time.Minute

// load is New, also returning when the session's row was last seen active
// (zero for a new session).
func (s *sessionStore) load(r *http.Request, name string) (*sessions.Session, time.Time, error) {
	sess := sessions.NewSession(s, name)
	opts := s.options
	sess.Options = &opts
	sess.IsNew = true
	cookie, err := r.Cookie(name)
	if err != nil || cookie.Value == "" {
		return sess, time.Time{}, nil
	}
	ctx := r.Context()
	row, err := s.db.SessionByHash(ctx, hashToken(cookie.Value))
	if errors.Is(err, store.ErrNotFound) {
		return sess, time.Time{}, nil
	}
	if err != nil {
		return sess, time.Time{}, err
	}
	now := s.now()
	if now.Sub(row.LastSeenAt) > s.idle || now.Sub(row.CreatedAt) > s.absolute {
		return sess, time.Time{}, s.db.DeleteSession(ctx, row.IDHash)
	}
	if err := gob.NewDecoder(bytes.NewReader(row.Data)).Decode(&sess.Values); err != nil {
		return sess, time.Time{}, s.db.DeleteSession(ctx, row.IDHash)
	}
	sess.ID = cookie.Value
	sess.IsNew = false
	return sess, row.LastSeenAt, nil
}

// Save writes the session row and the cookie; a negative MaxAge deletes both.
//
// Only a signed-in session is stored: an anonymous visitor has no row (the
// sign-in form's CSRF token lives in a signed cookie instead, see
// preLoginToken), so a thousand visits to /login write nothing. A row comes
// to exist only through start, with the sign-in's audit entry. Save updates
// the row and never re-creates it: a request that loaded the session before
// it was ended (a logout, "end sessions", a password reset) leaves it ended,
// and the browser is told to drop the cookie.
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := context.WithoutCancel(r.Context())
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.db.DeleteSession(ctx, hashToken(sess.ID)); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if userID, _ := sess.Values[keyUserID].(int64); userID == 0 {
		return nil
	}
	if sess.ID == "" {
		return errors.New("session: a signed-in session is started, not saved")
	}
	row, err := s.row(sess)
	if err != nil {
		return err
	}
	if live, err := s.db.UpdateSession(ctx, row); err != nil {
		return err
	} else if !live {
		ended := *sess.Options
		ended.MaxAge = -1
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &ended))
		return nil
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), sess.ID, sess.Options))
	return nil
}

// start signs sess in under a new random ID: its row is stored with e, the
// audit entry of the sign-in, in one transaction, in place of the row of the
// ID the browser came with (perhaps planted by someone else), then the
// cookie is set.
func (s *sessionStore) start(r *http.Request, w http.ResponseWriter, sess *sessions.Session, e store.AuditEntry) error {
	var replaced string
	if !sess.IsNew && sess.ID != "" {
		replaced = hashToken(sess.ID)
	}
	sess.ID = randomToken()
	sess.Values[keyCreatedAt] = s.now().UnixNano()
	row, err := s.row(sess)
	if err != nil {
		return err
	}
	if err := s.db.StartSession(context.WithoutCancel(r.Context()), replaced, row, e); err != nil {
		sess.ID = ""
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), sess.ID, sess.Options))
	return nil
}

// row is the stored form of a signed-in session, seen active now.
func (s *sessionStore) row(sess *sessions.Session) (*store.SessionRow, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sess.Values); err != nil {
		return nil, err
	}
	userID, _ := sess.Values[keyUserID].(int64)
	created, _ := sess.Values[keyCreatedAt].(int64)
	return &store.SessionRow{IDHash: hashToken(sess.ID), UserID: userID, Data: buf.Bytes(), CreatedAt: time.Unix(0, created), LastSeenAt: s.now()}, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
