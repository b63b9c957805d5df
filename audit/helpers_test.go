package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"countersign/store"
)

// sha256Hex is the pre-key chain hash, rewritten here from the format the
// store documents, as an intruder without the key would compute it.
func sha256Hex(e store.AuditEntry) string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), strconv.FormatInt(e.ActorID, 10), e.Actor, e.Action,
		e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashLiteral is a hash in hex as the SQL literal of the bytes the audit
// log stores.
func hashLiteral(dsn, h string) string {
	if store.IsPostgres(dsn) {
		return `'\x` + h + `'::bytea`
	}
	return `X'` + h + `'`
}
