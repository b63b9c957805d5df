package smartglocal

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
)

// Webhook types relevant to payouts.
const (
	WebhookReadyToConfirm  = "ready_to_confirm"
	WebhookPaymentFinished = "payment_finished"
)

// Webhook is a notification the provider POSTs to us.
type Webhook struct {
	Type    string  `json:"type"`
	Session Session `json:"session"`
}

// VerifyWebhook checks the X-PARTNER-SIGN header over the raw request body
// with the provider's public keys and only then decodes it: the signature of
// any one key will do, so that the provider can rotate its key (the file
// holds the old key and the new one until the old one is retired). A
// signature failure wraps ErrBadSignature; a signed but unusable body (not
// JSON, no type or session id) is a different error. Unknown fields are
// ignored, as the provider may add some.
func VerifyWebhook(keys []*rsa.PublicKey, rawBody []byte, signatureHeader string) (*Webhook, error) {
	err := error(fmt.Errorf("%w: no key to verify with", ErrBadSignature))
	for _, pub := range keys {
		if err = Verify(pub, rawBody, signatureHeader); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var wh Webhook
	if err := json.Unmarshal(rawBody, &wh); err != nil {
		return nil, fmt.Errorf("smartglocal: webhook: %w", err)
	}
	if wh.Type == "" || wh.Session.ID == "" {
		return nil, errors.New("smartglocal: webhook: missing type or session id")
	}
	return &wh, nil
}
