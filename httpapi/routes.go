package httpapi

import (
	"net/http"

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
		{http.MethodPost, "/api/v1/auth/logout", access.Authenticated, "End the current session", s.logout},
		{http.MethodGet, "/api/v1/me", access.Authenticated, "The signed-in user and their organizations", s.me},

		{http.MethodGet, org, access.OrgRead, "One organization", s.getOrg},
		{http.MethodGet, org + "/members", access.MembersRead, "List members", s.listMembers},
		{http.MethodPost, org + "/members", access.MembersWrite, "Add an existing account as a member", s.addMember},
		{http.MethodGet, org + "/members/{user}", access.MembersRead, "One member with client assignments", s.getMember},
		{http.MethodPatch, org + "/members/{user}", access.MembersWrite, "Change a member's role", s.patchMember},
		{http.MethodDelete, org + "/members/{user}", access.MembersWrite, "Remove a member", s.deleteMember},
		{http.MethodPut, org + "/members/{user}/clients", access.MembersWrite, "Limit a member to clients", s.putMemberClients},

		{http.MethodGet, org + "/clients", access.ClientsRead, "List clients", s.listClients},
		{http.MethodPost, org + "/clients", access.ClientsWrite, "Create a client", s.createClient},
		{http.MethodGet, org + "/clients/{client}", access.ClientsRead, "One client", s.getClient},
		{http.MethodPatch, org + "/clients/{client}", access.ClientsWrite, "Rename a client", s.patchClient},
		{http.MethodDelete, org + "/clients/{client}", access.ClientsWrite, "Delete a client without records", s.deleteClient},

		{http.MethodGet, org + "/collections", access.CollectionsRead, "List collections", s.listCollections},
		{http.MethodPost, org + "/collections", access.CollectionsWrite, "Create a collection", s.createCollection},
		{http.MethodGet, org + "/collections/{collection}", access.CollectionsRead, "One collection", s.getCollection},
		{http.MethodDelete, org + "/collections/{collection}", access.CollectionsWrite, "Delete a collection and its records", s.deleteCollection},

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
	}
}
