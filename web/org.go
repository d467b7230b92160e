package web

import (
	"context"
	"net/http"
	"net/url"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// routes is the console's page table. Add a page here, with its template in
// templates/pages/ (docs/console.md).
func (c *Console) routes() {
	c.page("GET /{$}", c.home)
	c.trustRoutes()
	c.page("GET /signup", c.signupPage)
	c.page("POST /signup", c.signup)
	c.page("GET /signin", c.signinPage)
	c.page("POST /signin", c.signin)
	c.page("GET /signin/mfa", c.mfaPage)
	c.page("POST /signin/mfa", c.mfa)
	c.page("GET /signin/email", c.emailPage)
	c.page("POST /signin/email", c.email)
	c.private("GET /signin/email-step", c.emailStepPage)
	c.private("POST /signin/email-step", c.emailStep)
	c.page("POST /signout", c.signout)
	c.page("GET /verify-email", c.verifyPage)
	c.page("POST /verify-email", c.verify)
	c.page("GET /forgot-password", c.forgotPage)
	c.page("POST /forgot-password", c.forgot)
	c.page("GET /reset-password", c.resetPage)
	c.page("POST /reset-password", c.reset)
	c.page("GET /invitations/accept", c.acceptPage)
	c.page("POST /invitations/accept", c.accept)

	c.private("GET /account", c.accountPage)
	c.private("POST /account/password", c.changePassword)
	c.private("POST /account/verify-email", c.resendVerification)
	c.private("GET /account/mfa", c.mfaSettings)
	c.private("POST /account/mfa/totp", c.enrolTOTP)
	c.private("POST /account/mfa/totp/confirm", c.confirmTOTP)
	c.private("POST /account/mfa/recovery-codes", c.regenerateCodes)
	c.private("POST /account/mfa/factors/{factor}/delete", c.deleteFactor)
	c.private("GET /account/step-up", c.stepUpPage)
	c.private("POST /account/step-up", c.stepUp)
	c.private("GET /account/sessions", c.sessionsPage)
	c.private("POST /account/sessions/{session}/end", c.endSession)
	c.private("POST /account/sessions/end-others", c.endOtherSessions)

	c.private("GET /orgs/{org}", c.dashboard)
	c.private("GET /orgs/{org}/members", c.membersPage)
	c.private("POST /orgs/{org}/invitations", c.memberAction("invited", c.invite))
	c.private("POST /orgs/{org}/invitations/{invitation}/revoke", c.memberAction("invitation-revoked", c.revokeInvitation))
	c.private("POST /orgs/{org}/members/{user}/role", c.memberAction("role-changed", c.setRole))
	c.private("GET /orgs/{org}/members/{user}/remove", c.memberRemovePage)
	c.private("POST /orgs/{org}/members/{user}/remove", c.memberAction("member-removed", c.removeMember))
	c.private("GET /orgs/{org}/members/{user}/sessions", c.memberSessionsPage)
	c.private("POST /orgs/{org}/members/{user}/clients", c.memberAction("member-clients-set", c.setMemberClients))
	c.private("GET /orgs/{org}/clients", c.clientsPage)
	c.private("POST /orgs/{org}/clients", c.clientAction("client-created", c.createClient))
	c.private("POST /orgs/{org}/clients/{client}/rename", c.clientAction("client-renamed", c.renameClient))
	c.private("GET /orgs/{org}/clients/{client}/delete", c.deleteClientPage)
	c.private("POST /orgs/{org}/clients/{client}/delete", c.deleteClient)
	c.private("GET /orgs/{org}/settings", c.settingsPage)
	c.private("POST /orgs/{org}/settings", c.saveSettings)
	c.private("GET /orgs/{org}/api-keys", c.apiKeysPage)
	c.private("POST /orgs/{org}/api-keys", c.apiKeyForm(c.createAPIKey))
	c.private("POST /orgs/{org}/api-keys/{key}/rotate", c.apiKeyForm(c.rotateAPIKey))
	c.private("POST /orgs/{org}/api-keys/{key}/revoke", c.revokeAPIKey())
	c.private("POST /orgs/{org}/members/{user}/sessions/end", c.endMemberSessions)

	c.private("GET /operator/outbox", c.outboxPage)
	c.private("GET /orgs/{org}/collections", c.collectionsPage)
	c.private("POST /orgs/{org}/collections", c.createCollection)
	c.private("GET /orgs/{org}/collections/{coll}", c.recordsPage)
	c.private("GET /orgs/{org}/collections/{coll}/schema", c.schemaPage)
	c.private("GET /orgs/{org}/collections/{coll}/new", c.newRecordPage)
	c.private("POST /orgs/{org}/collections/{coll}/records", c.saveRecord)
	c.private("GET /orgs/{org}/collections/{coll}/records/{record}", c.recordPage)
	c.private("POST /orgs/{org}/collections/{coll}/records/{record}", c.saveRecord)
	c.private("GET /orgs/{org}/collections/{coll}/records/{record}/edit", c.editRecordPage)
	c.private("GET /orgs/{org}/collections/{coll}/records/{record}/delete", c.deleteRecordPage)
	c.private("POST /orgs/{org}/collections/{coll}/records/{record}/delete", c.deleteRecord)
	c.private("POST /orgs/{org}/collections/{coll}/records/{record}/files", c.uploadFile)
	c.private("GET /orgs/{org}/collections/{coll}/records/{record}/files/{file}", c.downloadFile)
	c.private("GET /orgs/{org}/collections/{coll}/records/{record}/files/{file}/delete", c.deleteFilePage)
	c.private("POST /orgs/{org}/collections/{coll}/records/{record}/files/{file}/delete", c.deleteFile)

	// Audit log, alerts, notices and the operator's pages (web/audit.go,
	// web/alerts.go, web/operator.go).
	c.private("GET /orgs/{org}/audit", c.auditPage)
	c.private("GET /orgs/{org}/audit/export", c.exportAudit)
	c.private("GET /operator", c.operatorIndex)
	c.private("GET /operator/audit", c.platformAuditPage)
	c.private("GET /orgs/{org}/alerts", c.alertsList(c.orgAlerts))
	c.private("GET /orgs/{org}/alerts/{alert}", c.alertPage(c.orgAlerts))
	c.private("POST /orgs/{org}/alerts/{alert}/acknowledge", c.alertAction(c.orgAlerts, strongroom.AlertAcknowledged))
	c.private("POST /orgs/{org}/alerts/{alert}/resolve", c.alertAction(c.orgAlerts, strongroom.AlertResolved))
	c.private("GET /orgs/{org}/notices", c.noticesPage)
	c.private("GET /orgs/{org}/notices/{notice}", c.noticePage)
	c.private("POST /orgs/{org}/notices/{notice}/acknowledge", c.acknowledgeNotice)
	c.private("GET /orgs/{org}/requests", c.dsrListPage)
	c.private("POST /orgs/{org}/requests", c.createDSR)
	c.private("GET /orgs/{org}/requests/{request}", c.dsrPage)
	c.private("POST /orgs/{org}/requests/{request}/execute", c.executeDSR)
	c.private("GET /operator/incidents", c.incidentsPage)
	c.private("POST /operator/incidents", c.createIncident)
	c.private("GET /operator/incidents/{incident}", c.incidentPage)
	c.private("POST /operator/incidents/{incident}/updates", c.incidentForm("incident-updated", c.updateIncident))
	c.private("POST /operator/incidents/{incident}/organizations", c.incidentForm("incident-linked", c.linkIncidentOrgs))
	c.private("POST /operator/incidents/{incident}/notices", c.incidentForm("breach-notified", c.notifyBreach))
	c.private("POST /operator/incidents/{incident}/report", c.incidentForm("report-published", c.publishReport))
	c.private("GET /orgs/{org}/termination", c.terminationPage)
	c.private("POST /orgs/{org}/termination", c.terminate)
	c.private("POST /orgs/{org}/termination/cancel", c.cancelTermination)
	c.private("GET /operator/backups", c.backupsPage)
	c.private("POST /operator/backups/run", c.startBackup)
	c.private("GET /operator/backups/run", c.backupRunJSON)
	c.private("GET /operator/subprocessors", c.subprocessorsPage)
	c.private("POST /operator/subprocessors", c.subprocessorForm("subprocessor-added", c.createSubprocessor))
	c.private("POST /operator/subprocessors/{subprocessor}/end", c.subprocessorForm("subprocessor-ending", c.endSubprocessor))
	c.private("GET /operator/reports", c.reportsPage)
	c.private("GET /operator/reports/{report}", c.reportPage)
	c.private("POST /operator/reports/{report}", c.updateReport)
	c.private("GET /orgs/{org}/collections/{coll}/retention", c.retentionPage)
	c.private("POST /orgs/{org}/collections/{coll}/retention", c.saveRetention)
	c.private("GET /orgs/{org}/export", c.exportPage)
	c.private("GET /orgs/{org}/export/jobs", c.exportJobs)
	c.private("POST /orgs/{org}/export", c.exportOrg)
	c.private("GET /operator/alerts", c.alertsList(c.platformAlerts))
	c.private("GET /operator/alerts/{alert}", c.alertPage(c.platformAlerts))
	c.private("POST /operator/alerts/{alert}/acknowledge", c.alertAction(c.platformAlerts, strongroom.AlertAcknowledged))
	c.private("POST /operator/alerts/{alert}/resolve", c.alertAction(c.platformAlerts, strongroom.AlertResolved))

	// Operators' status page, access reviews and policy changes (web/statusops.go,
	// web/reviews.go, web/policy.go; docs/trust.md).
	c.private("GET /operator/status", c.statusOpsPage)
	c.private("POST /operator/status/maintenance", c.statusOpsForm("maintenance", "maintenance-scheduled", c.createMaintenance))
	c.private("GET /operator/status/maintenance/{maintenance}/edit", c.maintenanceEditPage)
	c.private("POST /operator/status/maintenance/{maintenance}", c.updateMaintenance)
	c.private("POST /operator/status/maintenance/{maintenance}/cancel", c.statusOpsForm("", "maintenance-cancelled", c.cancelMaintenance))
	c.private("POST /operator/status/updates", c.statusOpsForm("update", "status-update-posted", c.postStatusUpdate))
	for _, base := range []string{"/orgs/{org}/access-reviews", "/operator/access-reviews"} {
		c.private("GET "+base, c.reviewsPage)
		c.private("POST "+base, c.openReview)
		c.private("GET "+base+"/{campaign}", c.reviewPage)
		c.private("POST "+base+"/{campaign}/entries/{user}", c.decideReview)
		c.private("POST "+base+"/{campaign}/complete", c.completeReview)
		c.private("GET "+base+"/{campaign}/export", c.exportReview)
	}
	c.private("GET /operator/policy-changes", c.policyOpsPage)
	c.private("POST /operator/policy-changes", c.publishPolicy)
	c.private("GET /orgs/{org}/policy-changes", c.policyChangesPage)
	c.private("GET /orgs/{org}/policy-changes/{change}", c.policyChangePage)
	c.private("POST /orgs/{org}/policy-changes/{change}/acknowledge", c.acknowledgePolicy)

	// The public status page (INC-04; docs/trust.md "Status").
	c.page("GET /status", c.statusPage)
	c.page("POST /status/subscribe", c.statusSubscribe)
	for _, sp := range c.subscriptionPages() {
		c.page("GET "+sp.path+"/confirm", c.subscriptionTokenPage(sp, "confirm"))
		c.page("POST "+sp.path+"/confirm", c.subscriptionToken(sp, "confirm"))
		c.page("GET "+sp.path+"/unsubscribe", c.subscriptionTokenPage(sp, "unsubscribe"))
		c.page("POST "+sp.path+"/unsubscribe", c.subscriptionToken(sp, "unsubscribe"))
	}
	c.page("/", c.notFound)
}

// enterOrg enters the organization in the path for the signed-in user and
// returns the context to call the service with. A policy the session does
// not meet yet (the e-mail step, MFA enrolment) sends the browser to the page
// that meets it; ok is false when the answer is written.
func (c *Console) enterOrg(w http.ResponseWriter, r *http.Request) (ctx context.Context, org strongroom.TenantID, ok bool) {
	org = strongroom.TenantID(r.PathValue("org"))
	if !service.ValidID(string(org)) {
		c.errorPage(w, r, errNotFound)
		return nil, "", false
	}
	p, err := c.svc.EnterOrg(r.Context(), org)
	if err != nil {
		back := url.QueryEscape(r.URL.RequestURI())
		switch strongroom.ErrorCode(err) {
		case strongroom.EEMAILSTEP:
			redirect(w, r, "/signin/email-step?next="+back, "")
		case strongroom.EMFAENROLL:
			redirect(w, r, "/account/mfa", "mfa-enrol")
		default:
			c.errorPage(w, r, err)
		}
		return nil, "", false
	}
	return strongroom.WithPrincipal(r.Context(), p), org, true
}

type dashboardData struct {
	MFA  *service.MFAStatus
	Base string
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	st, err := c.svc.MyMFA(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c.render(w, r, http.StatusOK, "dashboard", &view{Title: o.Organization.Name, Nav: "org", Org: o,
		Data: dashboardData{MFA: st, Base: scheme + "://" + r.Host}})
}
