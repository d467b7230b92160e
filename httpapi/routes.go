package httpapi

import (
	"net/http"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
)

// routeTable declares every API route with its permission. Tests walk it: a
// route without a permission, or a route missing from the OpenAPI description,
// fails the build.
func (s *Server) routeTable() []Route {
	const org = "/api/v1/orgs/{org}"
	const recs = org + "/collections/{collection}/records"
	const conns = org + "/connections"
	return []Route{
		{http.MethodGet, "/healthz", access.Public, "Liveness: the process is up", s.healthz},
		{http.MethodGet, "/readyz", access.Public, "Readiness: the store answers", s.readyz},
		{http.MethodGet, "/api/openapi.json", access.Public, "This API's OpenAPI 3.1 description", s.openapi},

		{http.MethodPost, "/api/v1/signup", access.Public, "Create an account and its first organization", s.signup},
		{http.MethodPost, "/api/v1/auth/password", access.Public, "Sign in with e-mail and password", s.signInPassword},
		{http.MethodPost, "/api/v1/auth/mfa", access.Public, "Complete a sign-in with a second factor", s.verifyMFA},
		{http.MethodPost, "/api/v1/auth/mfa/webauthn", access.Public, "WebAuthn options for an MFA challenge", s.beginWebAuthnMFA},
		{http.MethodPost, "/api/v1/auth/email/start", access.Public, "E-mail a one-time sign-in code and link", s.startEmailSignIn},
		{http.MethodPost, "/api/v1/auth/email/verify", access.Public, "Sign in with an e-mailed code", s.verifyEmailCode},
		{http.MethodPost, "/api/v1/auth/email/link", access.Public, "Sign in with an e-mailed link's token", s.emailLink},
		{http.MethodPost, "/api/v1/auth/email/verify-address", access.Public, "Confirm an account's e-mail address", s.verifyAddress},
		{http.MethodPost, "/api/v1/auth/email/step", access.Authenticated, "E-mail a code for an organization's e-mail step", s.startEmailStep},
		{http.MethodPost, "/api/v1/auth/email/step/verify", access.Authenticated, "Add the e-mail step to this session", s.verifyEmailStep},
		{http.MethodPost, "/api/v1/auth/password/reset", access.Public, "E-mail a password-reset link", s.startPasswordReset},
		{http.MethodPost, "/api/v1/auth/password/reset/confirm", access.Public, "Set a new password with a reset link's token", s.resetPassword},
		{http.MethodPost, "/api/v1/auth/step-up", access.Authenticated, "Prove who you are again for sensitive actions", s.stepUp},
		{http.MethodPost, "/api/v1/auth/passkey/start", access.Public, "Begin a passwordless sign-in with a passkey", s.beginPasskeySignIn},
		{http.MethodPost, "/api/v1/auth/passkey/finish", access.Public, "Finish a passwordless sign-in with a passkey", s.finishPasskeySignIn},
		{http.MethodGet, "/api/v1/auth/oidc/providers", access.Public, "List the OpenID Connect sign-in providers", s.oidcProviders},
		{http.MethodGet, "/api/v1/auth/oidc/{provider}/start", access.Public, "Begin signing in with an OpenID Connect provider", s.startOIDC},
		{http.MethodGet, "/api/v1/auth/oidc/{provider}/callback", access.Public, "The provider's redirect back: finish signing in", s.oidcCallback},
		{http.MethodPost, "/api/v1/auth/logout", access.Authenticated, "End the current session", s.logout},
		{http.MethodPost, "/api/v1/invitations/accept", access.Public, "Accept an invitation", s.acceptInvitation},

		{http.MethodGet, "/api/v1/me", access.Authenticated, "The signed-in user and their organizations", s.me},
		{http.MethodPut, "/api/v1/me/password", access.Authenticated, "Change your password (ends your other sessions)", s.changePassword},
		{http.MethodPost, "/api/v1/me/email/verification", access.Authenticated, "Send a new address-verification link", s.resendVerification},
		{http.MethodGet, "/api/v1/me/sessions", access.Authenticated, "Your sessions", s.mySessions},
		{http.MethodDelete, "/api/v1/me/sessions", access.Authenticated, "Sign out everywhere else (or everywhere)", s.endMySessions},
		{http.MethodDelete, "/api/v1/me/sessions/{session}", access.Authenticated, "End one of your sessions", s.endMySession},
		{http.MethodGet, "/api/v1/me/mfa", access.Authenticated, "Your second factors and recovery codes left", s.myMFA},
		{http.MethodPost, "/api/v1/me/mfa/totp", access.Authenticated, "Start enrolling an authenticator app", s.enrolTOTP},
		{http.MethodPost, "/api/v1/me/mfa/totp/{factor}/confirm", access.Authenticated, "Confirm an authenticator app with a code", s.confirmTOTP},
		{http.MethodPost, "/api/v1/me/mfa/webauthn/start", access.Authenticated, "Begin registering a security key or passkey", s.beginWebAuthnRegistration},
		{http.MethodPost, "/api/v1/me/mfa/webauthn/finish", access.Authenticated, "Finish registering a security key or passkey", s.finishWebAuthnRegistration},
		{http.MethodDelete, "/api/v1/me/mfa/factors/{factor}", access.Authenticated, "Remove a second factor", s.deleteFactor},
		{http.MethodPost, "/api/v1/me/mfa/recovery-codes", access.Authenticated, "Replace your recovery codes", s.regenerateRecoveryCodes},

		{http.MethodGet, "/api/v1/operator/outbox", access.Operator, "The development outbox (embedded mode)", s.operatorOutbox},
		{http.MethodGet, "/api/v1/operator/audit", access.Operator, "Query the platform's audit log", s.queryPlatformAudit},
		{http.MethodGet, "/api/v1/operator/backups", access.Operator, "List the backups", s.operatorBackups},
		{http.MethodGet, "/api/v1/operator/drills", access.Operator, "List the restore drills", s.operatorDrills},

		{http.MethodGet, org, access.OrgRead, "One organization", s.getOrg},
		{http.MethodGet, org + "/members", access.MembersRead, "List members", s.listMembers},
		{http.MethodPost, org + "/members", access.MembersWrite, "Add an existing account as a member", s.addMember},
		{http.MethodGet, org + "/members/{user}", access.MembersRead, "One member with client assignments", s.getMember},
		{http.MethodPatch, org + "/members/{user}", access.MembersWrite, "Change a member's role", s.patchMember},
		{http.MethodDelete, org + "/members/{user}", access.MembersWrite, "Remove a member", s.deleteMember},
		{http.MethodPut, org + "/members/{user}/clients", access.MembersWrite, "Limit a member to clients", s.putMemberClients},
		{http.MethodGet, org + "/members/{user}/sessions", access.MembersWrite, "A member's sessions", s.memberSessions},
		{http.MethodDelete, org + "/members/{user}/sessions", access.MembersWrite, "Sign a member out everywhere", s.endMemberSessions},

		{http.MethodGet, org + "/settings", access.SettingsRead, "The organization's security settings", s.getSettings},
		{http.MethodPut, org + "/settings", access.SettingsWrite, "Replace the organization's security settings", s.putSettings},
		{http.MethodGet, org + "/api-keys", access.APIKeysRead, "List API keys", s.listAPIKeys},
		{http.MethodPost, org + "/api-keys", access.APIKeysWrite, "Create an API key (secret shown once)", s.createAPIKey},
		{http.MethodPost, org + "/api-keys/{key}/rotate", access.APIKeysWrite, "Rotate an API key with an overlap window", s.rotateAPIKey},
		{http.MethodDelete, org + "/api-keys/{key}", access.APIKeysWrite, "Revoke an API key", s.revokeAPIKey},
		{http.MethodGet, org + "/invitations", access.InvitationsRead, "List invitations", s.listInvitations},
		{http.MethodPost, org + "/invitations", access.InvitationsWrite, "Invite someone by e-mail", s.createInvitation},
		{http.MethodDelete, org + "/invitations/{invitation}", access.InvitationsWrite, "Revoke an invitation", s.revokeInvitation},
		{http.MethodGet, org + "/audit", access.AuditRead, "Query the organization's audit log", s.queryAudit},
		{http.MethodGet, org + "/audit/export", access.AuditRead, "Export the audit log for offline verification (JSON Lines)", s.exportAudit},

		{http.MethodGet, org + "/clients", access.ClientsRead, "List clients", s.listClients},
		{http.MethodPost, org + "/clients", access.ClientsWrite, "Create a client", s.createClient},
		{http.MethodGet, org + "/clients/{client}", access.ClientsRead, "One client", s.getClient},
		{http.MethodPatch, org + "/clients/{client}", access.ClientsWrite, "Rename a client", s.patchClient},
		{http.MethodDelete, org + "/clients/{client}", access.ClientsWrite, "Delete a client without records", s.deleteClient},

		{http.MethodGet, org + "/collections", access.CollectionsRead, "List collections", s.listCollections},
		{http.MethodPost, org + "/collections", access.CollectionsWrite, "Create a collection", s.createCollection},
		{http.MethodGet, org + "/collections/{collection}", access.CollectionsRead, "One collection", s.getCollection},
		{http.MethodDelete, org + "/collections/{collection}", access.CollectionsWrite, "Delete a collection and its records", s.deleteCollection},
		{http.MethodPut, org + "/collections/{collection}/retention", access.CollectionsWrite, "Set a collection's retention policy", s.putRetention},

		{http.MethodGet, recs, access.RecordsRead, "List records, filtered and paged", s.listRecords},
		{http.MethodPost, recs, access.RecordsWrite, "Create a record", s.createRecord},
		{http.MethodGet, recs + "/{id}", access.RecordsRead, "One record", s.getRecord},
		{http.MethodPut, recs + "/{id}", access.RecordsWrite, "Replace a record", s.putRecord},
		{http.MethodPatch, recs + "/{id}", access.RecordsWrite, "Merge-patch a record's data", s.patchRecord},
		{http.MethodDelete, recs + "/{id}", access.RecordsWrite, "Delete a record", s.deleteRecord},

		{http.MethodGet, org + "/connection-providers", access.ConnectionsRead, "List the third-party providers that can be connected", s.listConnectionProviders},
		{http.MethodGet, conns, access.ConnectionsRead, "List third-party connections", s.listConnections},
		{http.MethodPost, conns, access.ConnectionsWrite, "Start connecting a third-party provider (OAuth 2.0 with PKCE)", s.startConnection},
		{http.MethodGet, conns + "/{connection}", access.ConnectionsRead, "One third-party connection", s.getConnection},
		{http.MethodPost, conns + "/{connection}/refresh", access.ConnectionsWrite, "Refresh a connection's tokens now", s.refreshConnection},
		{http.MethodDelete, conns + "/{connection}", access.ConnectionsWrite, "Disconnect: revoke the tokens at the provider and delete them", s.deleteConnection},
		{http.MethodGet, ConnectionCallbackPath, access.Public, "The providers' redirect back: finish connecting", s.connectionCallback},

		// Security alerts of the monitor (LOG-04).
		{http.MethodGet, org + "/alerts", access.AlertsRead, "List the organization's security alerts", s.listAlerts},
		{http.MethodGet, org + "/alerts/{alert}", access.AlertsRead, "One security alert with its evidence events", s.getAlert},
		{http.MethodPost, org + "/alerts/{alert}/acknowledge", access.AlertsWrite, "Acknowledge a security alert", s.alertAction(strongroom.AlertAcknowledged)},
		{http.MethodPost, org + "/alerts/{alert}/resolve", access.AlertsWrite, "Resolve a security alert", s.alertAction(strongroom.AlertResolved)},
		{http.MethodGet, "/api/v1/operator/alerts", access.Operator, "List the platform's security alerts", s.listPlatformAlerts},
		{http.MethodGet, "/api/v1/operator/alerts/{alert}", access.Operator, "One platform security alert with its evidence events", s.getPlatformAlert},
		{http.MethodPost, "/api/v1/operator/alerts/{alert}/acknowledge", access.Operator, "Acknowledge a platform security alert", s.platformAlertAction(strongroom.AlertAcknowledged)},
		{http.MethodPost, "/api/v1/operator/alerts/{alert}/resolve", access.Operator, "Resolve a platform security alert", s.platformAlertAction(strongroom.AlertResolved)},
		{http.MethodGet, org + "/dsr", access.DataSubjectRequests, "List data-subject requests", s.listDSRs},
		{http.MethodPost, org + "/dsr", access.DataSubjectRequests, "Open a data-subject request: find a person's records", s.createDSR},
		{http.MethodGet, org + "/dsr/{dsr}", access.DataSubjectRequests, "One data-subject request", s.getDSR},
		{http.MethodPost, org + "/dsr/{dsr}/execute", access.DataSubjectRequests, "Carry out a data-subject request (export, delete, restrict, lift)", s.executeDSR},
		{http.MethodPost, org + "/export", access.OrgExport, "Export the whole organization as an encrypted archive (streamed)", s.exportOrg},
		{http.MethodGet, org + "/exports/{export}", access.OrgExport, "An export's status and progress", s.getExport},
		{http.MethodPost, org + "/termination", access.OrgTerminate, "Terminate the organization (return window, then deletion)", s.terminateOrg},
		{http.MethodGet, org + "/termination", access.OrgTerminate, "The organization's termination", s.getTermination},
		{http.MethodDelete, org + "/termination", access.OrgTerminate, "Cancel the termination within the return window", s.cancelTermination},
		{http.MethodGet, "/api/v1/operator/terminations", access.Operator, "List terminated organizations", s.operatorTerminations},
		{http.MethodPost, "/api/v1/operator/orgs/{tenant}/termination", access.Operator, "Terminate an organization (operator)", s.operatorTerminate},
		{http.MethodDelete, "/api/v1/operator/orgs/{tenant}/termination", access.Operator, "Cancel an organization's termination (operator)", s.operatorCancelTermination},
		{http.MethodGet, "/api/v1/operator/orgs/{tenant}/deletion-certificate", access.Operator, "An organization's signed deletion certificate", s.operatorCertificate},
		{http.MethodGet, "/api/v1/deletion-certificates/{token}", access.Public, "A signed deletion certificate, by the token given at termination", s.certificateByToken},
		// Responsible disclosure (INC-05; docs/trust.md).
		{http.MethodGet, "/.well-known/security.txt", access.Public, "Security contact and disclosure policy (RFC 9116)", s.securityTxt},
		{http.MethodPost, "/api/v1/disclosure/reports", access.Public, "Report a vulnerability", s.submitReport},
		{http.MethodPost, "/api/v1/disclosure/reports/status", access.Public, "A vulnerability report's status, by its status token", s.reportStatus},
		{http.MethodGet, "/api/v1/disclosure/credits", access.Public, "Reporters credited for fixed vulnerabilities", s.disclosureCredits},
		{http.MethodGet, "/api/v1/operator/disclosure/reports", access.Operator, "List vulnerability reports", s.listReports},
		{http.MethodGet, "/api/v1/operator/disclosure/reports/{report}", access.Operator, "One vulnerability report with its attachments", s.getReport},
		{http.MethodPatch, "/api/v1/operator/disclosure/reports/{report}", access.Operator, "Acknowledge, triage or close a vulnerability report", s.patchReport},

		// Incidents and breach notification (INC-01..03; docs/trust.md).
		{http.MethodGet, "/api/v1/operator/incidents", access.Operator, "List incidents", s.listIncidents},
		{http.MethodPost, "/api/v1/operator/incidents", access.Operator, "Open and classify an incident", s.createIncident},
		{http.MethodGet, "/api/v1/operator/incidents-overdue", access.Operator, "Breach notices and post-incident reports past their deadline", s.overdueIncidents},
		{http.MethodGet, "/api/v1/operator/incidents/{incident}", access.Operator, "One incident with its timeline", s.getIncident},
		{http.MethodPost, "/api/v1/operator/incidents/{incident}/updates", access.Operator, "Add a timeline note, optionally moving to the next phase", s.addIncidentUpdate},
		{http.MethodPost, "/api/v1/operator/incidents/{incident}/organizations", access.Operator, "Link affected organizations", s.linkIncidentOrgs},
		{http.MethodPost, "/api/v1/operator/incidents/{incident}/notices", access.Operator, "Send the breach notice to the affected organizations", s.notifyBreach},
		{http.MethodPost, "/api/v1/operator/incidents/{incident}/report", access.Operator, "Publish the post-incident report to the affected organizations", s.publishIncidentReport},
		{http.MethodGet, org + "/notices", access.NoticesRead, "Breach notices and post-incident reports sent to the organization", s.listNotices},
		{http.MethodPost, org + "/notices/{notice}/acknowledge", access.NoticesAck, "Acknowledge a notice", s.acknowledgeNotice},

		// Subprocessors (INC-06; docs/trust.md).
		{http.MethodGet, "/subprocessors.json", access.Public, "The subprocessors in effect and the changes announced", s.publicSubprocessors},
		{http.MethodPost, "/api/v1/subprocessors/subscribe", access.Public, "Subscribe to subprocessor changes (double opt-in)", s.subscribeSubprocessors},
		{http.MethodPost, "/api/v1/subprocessors/confirm", access.Public, "Confirm a subscription with its e-mailed token", s.confirmSubscription},
		{http.MethodPost, "/api/v1/subprocessors/unsubscribe", access.Public, "End a subscription with its token", s.unsubscribe},
		{http.MethodGet, "/api/v1/operator/subprocessors", access.Operator, "List subprocessors with their announcements", s.listSubprocessors},
		{http.MethodPost, "/api/v1/operator/subprocessors", access.Operator, "Add a subprocessor from a date at least the notice period ahead", s.createSubprocessor},
		{http.MethodPost, "/api/v1/operator/subprocessors/{subprocessor}/end", access.Operator, "Schedule a subprocessor's removal", s.endSubprocessor},

		// Access reviews (IAM-15) and security-policy changes (INC-07; docs/trust.md).
		{http.MethodGet, org + "/access-reviews", access.AccessReviews, "List the organization's access review campaigns", s.listAccessReviews},
		{http.MethodPost, org + "/access-reviews", access.AccessReviews, "Open an access review campaign now", s.openAccessReview},
		{http.MethodGet, org + "/access-reviews/{campaign}", access.AccessReviews, "One access review campaign with its entries", s.getAccessReview},
		{http.MethodPost, org + "/access-reviews/{campaign}/entries/{user}", access.AccessReviews, "Keep or revoke one member's access", s.decideAccessReview},
		{http.MethodPost, org + "/access-reviews/{campaign}/complete", access.AccessReviews, "Complete an access review campaign", s.completeAccessReview},
		{http.MethodGet, org + "/access-reviews/{campaign}/export", access.AccessReviews, "Export an access review campaign as evidence (JSON or CSV)", s.exportAccessReview},
		{http.MethodGet, "/api/v1/operator/access-reviews", access.Operator, "List the operator access review campaigns", s.listAccessReviews},
		{http.MethodPost, "/api/v1/operator/access-reviews", access.Operator, "Open an operator access review campaign now", s.openAccessReview},
		{http.MethodGet, "/api/v1/operator/access-reviews/{campaign}", access.Operator, "One operator access review campaign with its entries", s.getAccessReview},
		{http.MethodPost, "/api/v1/operator/access-reviews/{campaign}/entries/{user}", access.Operator, "Keep or revoke one operator's status", s.decideAccessReview},
		{http.MethodPost, "/api/v1/operator/access-reviews/{campaign}/complete", access.Operator, "Complete an operator access review campaign", s.completeAccessReview},
		{http.MethodGet, "/api/v1/operator/access-reviews/{campaign}/export", access.Operator, "Export an operator access review campaign as evidence (JSON or CSV)", s.exportAccessReview},
		{http.MethodGet, "/api/v1/operator/policy-changes", access.Operator, "List the published security-policy changes", s.operatorPolicyChanges},
		{http.MethodPost, "/api/v1/operator/policy-changes", access.Operator, "Publish a security-policy change and notify every organization's Admins", s.publishPolicyChange},
		{http.MethodGet, org + "/policy-changes", access.NoticesRead, "Security-policy changes with the organization's acknowledgements", s.listPolicyChanges},
		{http.MethodPost, org + "/policy-changes/{change}/acknowledge", access.NoticesAck, "Acknowledge a security-policy change", s.acknowledgePolicyChange},
	}
}
