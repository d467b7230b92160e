package oidcauth

import (
	"errors"
	"fmt"
	"strings"
)

const (
	microsoftHost          = "login.microsoftonline.com"
	microsoftCommon        = "common"        // work, school and personal accounts
	microsoftOrganizations = "organizations" // work and school accounts
	microsoftConsumers     = "consumers"     // personal accounts
	// microsoftPersonalTenant is the tenant that personal Microsoft accounts
	// (outlook.com, live.com...) sign in from.
	microsoftPersonalTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	// microsoftTemplatedIssuer is the issuer that the discovery documents of
	// "common" and "organizations" state: a template, not an issuer any token
	// carries.
	microsoftTemplatedIssuer = "https://" + microsoftHost + "/{tenantid}/v2.0"
)

// MicrosoftIssuer returns the v2.0 issuer URL of a Microsoft tenant: "common"
// (any work, school or personal account), "organizations" (any work or school
// account), "consumers" (personal accounts) or a tenant id (a lower-case GUID:
// that tenant's accounts only).
//
// For a tenant id and for "consumers", the issuer is fixed and ID tokens are
// checked against it as with any provider. "common" and "organizations" are
// multi-tenant: their discovery document states the template
// https://login.microsoftonline.com/{tenantid}/v2.0, and each ID token
// carries the issuer of the user's own tenant. For those, and only those,
// Finish skips go-oidc's fixed issuer comparison and checks instead that the
// token's tid claim is a tenant id and that its iss is exactly
// https://login.microsoftonline.com/{tid}/v2.0 (and, for "organizations", that
// tid is not the personal-accounts tenant). Signature, audience, expiry and
// nonce are checked as always; the signing keys are the ones the discovery
// document's jwks_uri lists, which sign for every tenant. The Identity's
// Issuer is then the tenant's issuer, so accounts of different tenants never
// share a key.
func MicrosoftIssuer(tenant string) string {
	return "https://" + microsoftHost + "/" + tenant + "/v2.0"
}

// microsoftTenant returns the tenant of a Microsoft v2.0 issuer URL.
func microsoftTenant(issuer string) (string, error) {
	rest, ok := strings.CutPrefix(issuer, "https://"+microsoftHost+"/")
	tenant, ok2 := strings.CutSuffix(rest, "/v2.0")
	if !ok || !ok2 || tenant == "" {
		return "", fmt.Errorf("a Microsoft issuer is %s with tenant common, organizations, consumers or a tenant id",
			MicrosoftIssuer("{tenant}"))
	}
	switch tenant {
	case microsoftCommon, microsoftOrganizations, microsoftConsumers:
		return tenant, nil
	}
	if !isTenantID(tenant) {
		return "", errors.New("the Microsoft tenant must be common, organizations, consumers or a tenant id (a lower-case GUID)")
	}
	return tenant, nil
}

// microsoftDiscoveryIssuer returns the issuer that the discovery document of
// a tenant states, and whether it is the multi-tenant template.
func microsoftDiscoveryIssuer(tenant string) (issuer string, multiTenant bool) {
	switch tenant {
	case microsoftCommon, microsoftOrganizations:
		return microsoftTemplatedIssuer, true
	case microsoftConsumers:
		return MicrosoftIssuer(microsoftPersonalTenant), false
	}
	return MicrosoftIssuer(tenant), false
}

// checkMicrosoftIssuer checks the issuer of an ID token obtained through the
// multi-tenant endpoint of tenant ("common" or "organizations"), whose
// signature, audience and expiry are already verified: iss must be the issuer
// of the tenant that the tid claim names.
func checkMicrosoftIssuer(tenant, iss, tid string) error {
	if !isTenantID(tid) {
		return errors.New("the tid claim is missing or is not a tenant id")
	}
	if want := MicrosoftIssuer(tid); iss != want {
		return fmt.Errorf("issuer %q is not the issuer of tenant %s", iss, tid)
	}
	if tenant == microsoftOrganizations && tid == microsoftPersonalTenant {
		return errors.New("a personal Microsoft account signed in where only work or school accounts are accepted")
	}
	return nil
}

// isTenantID reports whether s is a GUID in its canonical lower-case form,
// as Microsoft writes tenant ids in tokens.
func isTenantID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
