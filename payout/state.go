package payout

import (
	"slices"

	"countersign/smartglocal"
)

// State is where a payout stands in our records (not the provider's status).
type State string

// The states of a payout. See CanMove for how they connect.
const (
	StateSubmitting       State = "submitting"        // intent recorded; the start call may be in flight
	StateAwaitingProvider State = "awaiting_provider" // the provider has it and is checking it
	StatePendingApproval  State = "pending_approval"  // the provider waits for our confirm or cancel
	StateConfirming       State = "confirming"        // an approver claimed it; session/confirm may be in flight
	StateConfirmed        State = "confirmed"         // the provider accepted our confirm
	StateSucceeded        State = "succeeded"
	StateFailed           State = "failed"
	StateCancelling       State = "cancelling" // someone claimed it to cancel; session/cancel may be in flight
	StateCancelled        State = "cancelled"
	StateWithdrawn        State = "withdrawn" // the maker took it back before the provider had it
	StateExpired          State = "expired"   // nobody confirmed before the provider's deadline
	StateRejected         State = "rejected"  // the provider refused to start it
	StateUnknown          State = "unknown"   // a provider call's outcome is not known; only session/status resolves it
)

// AllStates returns every state, in journey order.
func AllStates() []State {
	return []State{
		StateSubmitting, StateAwaitingProvider, StatePendingApproval, StateConfirming,
		StateConfirmed, StateSucceeded, StateFailed, StateCancelling, StateCancelled,
		StateWithdrawn, StateExpired, StateRejected, StateUnknown,
	}
}

// Valid reports whether s is one of AllStates.
func (s State) Valid() bool { return slices.Contains(AllStates(), s) }

// Final reports whether s is an end state: nothing moves a payout out of it.
func (s State) Final() bool {
	switch s {
	case StateSucceeded, StateFailed, StateCancelled, StateWithdrawn, StateExpired, StateRejected:
		return true
	}
	return false
}

// Label is the state as people read it.
func (s State) Label() string {
	switch s {
	case StateSubmitting:
		return "Submitting"
	case StateAwaitingProvider:
		return "Awaiting provider"
	case StatePendingApproval:
		return "Pending approval"
	case StateConfirming:
		return "Confirming"
	case StateConfirmed:
		return "Confirmed"
	case StateSucceeded:
		return "Succeeded"
	case StateFailed:
		return "Failed"
	case StateCancelling:
		return "Cancelling"
	case StateCancelled:
		return "Cancelled"
	case StateWithdrawn:
		return "Withdrawn"
	case StateExpired:
		return "Expired"
	case StateRejected:
		return "Rejected"
	case StateUnknown:
		return "Outcome unknown"
	}
	return "Invalid state"
}

// CanMove reports whether a payout may move from one state to another. Staying
// put is not a move, so a duplicate event is ignored rather than applied twice.
//
// The rules that shape the table:
//   - Money moves only after our own session/confirm, so succeeded and confirmed
//     are reachable only through confirming (or unknown, after one). A webhook
//     saying "succeeded" for a payout we never confirmed is not a legal move;
//     FromProvider reports it as unknown so that a person looks at it.
//   - confirming and cancelling are our own claims, taken before the call, so
//     no provider report leads into them: they follow pending_approval, and
//     cancelling also follows unknown when a lost cancel is re-issued.
//   - The provider is the authority on outcomes that move no money (failed,
//     expired, cancelled), so those are accepted wherever the provider may
//     really report them, even while one of our calls is in flight.
//   - unknown leads to whatever session/status proves. It may lead back to
//     pending_approval when our confirm never landed, which is safe: one
//     session pays at most once however many confirms it gets. A cancel that
//     never landed goes to cancelling instead, so no one approves a payout
//     somebody decided to stop.
//   - Final states lead nowhere.
func CanMove(from, to State) bool {
	switch from {
	case StateSubmitting:
		// withdrawn: only for a start request that provably never left (e.g. the
		// connection was refused); with the call in flight, the workflow must wait.
		// pending_approval and failed: the ready_to_confirm webhook or a failed
		// payout in the start reply may be processed before the reply is recorded.
		// expired and cancelled: the provider's word on outcomes that move no
		// money, which may arrive before ready_to_confirm (webhooks come in any
		// order); refusing them would make the final state depend on the order.
		return oneOf(to, StateAwaitingProvider, StatePendingApproval, StateFailed,
			StateCancelled, StateExpired, StateRejected, StateWithdrawn, StateUnknown)
	case StateAwaitingProvider:
		// rejected: session/create succeeded but session/start/payout was refused.
		// expired: the ready_to_confirm webhook was lost and the deadline passed.
		return oneOf(to, StatePendingApproval, StateFailed, StateRejected,
			StateExpired, StateCancelled, StateUnknown)
	case StatePendingApproval:
		// unknown: the provider reports its session in error; no one may approve it then.
		return oneOf(to, StateConfirming, StateCancelling, StateFailed,
			StateExpired, StateCancelled, StateUnknown)
	case StateConfirming:
		// succeeded: the confirm reply may be lost while payment_finished arrives.
		// expired, cancelled: the deadline or a cancel elsewhere beat our confirm.
		return oneOf(to, StateConfirmed, StateSucceeded, StateFailed,
			StateExpired, StateCancelled, StateUnknown)
	case StateConfirmed:
		// Not expired or cancelled: the provider took our confirm in time.
		return oneOf(to, StateSucceeded, StateFailed, StateUnknown)
	case StateCancelling:
		// Never confirmed or succeeded: we did not confirm it.
		// expired: the deadline passed before our cancel landed.
		return oneOf(to, StateCancelled, StateFailed, StateExpired, StateUnknown)
	case StateUnknown:
		// cancelling: session/status proved a cancel never landed, so it is
		// re-issued rather than handing the payout back to approvers.
		return oneOf(to, StateAwaitingProvider, StatePendingApproval, StateConfirmed,
			StateSucceeded, StateFailed, StateCancelled, StateExpired, StateRejected,
			StateCancelling)
	}
	return false
}

func oneOf(s State, set ...State) bool { return slices.Contains(set, s) }

// FromProvider maps what the provider reports (session status, payout status,
// next_action, payout error code) to the state it proves. confirmAttempted says
// whether we ever sent session/confirm for this payout: only that can make a
// payout move money, so a success we never asked for is unknown, for a person
// to look at, not succeeded. A report that contradicts itself, or that this
// function does not know, is unknown too: guessing is never safe with money.
//
// When the payout turns out still pending after a cancel was attempted, the
// caller should re-issue the cancel (unknown → cancelling), not use the
// pending_approval this returns.
func FromProvider(sessionStatus, payoutStatus, nextAction, errorCode string, confirmAttempted bool) State {
	switch sessionStatus {
	case "error":
		// Not final at the provider ("ask support"), even with a failed payout.
		return StateUnknown
	case "accepted":
		if payoutStatus == "succeeded" {
			return succeeded(confirmAttempted)
		}
	case "cancelled", "canceled": // the provider's pages spell it both ways
		switch payoutStatus {
		case "":
			return StateCancelled
		case "failed":
			return failed(errorCode)
		}
	case "created", "in_progress":
		switch payoutStatus {
		case "":
			if !confirmAttempted {
				return StateAwaitingProvider
			}
		case "in_progress", "pending":
			switch {
			case nextAction == "confirm":
				return StatePendingApproval
			case confirmAttempted:
				// After a confirm the payout reads in_progress or pending
				// depending on the provider's version; either way it is ours.
				return StateConfirmed
			case payoutStatus == "pending":
				return StatePendingApproval
			default:
				return StateAwaitingProvider
			}
		case "succeeded":
			// The session may lag behind the payout for a moment.
			return succeeded(confirmAttempted)
		case "failed":
			return failed(errorCode)
		}
	}
	return StateUnknown
}

func succeeded(confirmAttempted bool) State {
	if !confirmAttempted {
		return StateUnknown
	}
	return StateSucceeded
}

func failed(errorCode string) State {
	switch errorCode {
	case smartglocal.CodeSessionCancelledByPartner: // ended, not failed
		return StateCancelled
	case smartglocal.CodeConfirmTimeout:
		return StateExpired
	}
	return StateFailed
}
