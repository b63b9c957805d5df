package handlers

import "countersign/store"

func storeAuditAll() store.AuditFilter { return store.AuditFilter{Ascending: true} }
