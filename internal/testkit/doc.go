// Package testkit holds test helpers shared by Strongroom's packages: throwaway
// PostgreSQL databases, running servers, an in-process OAuth 2.0 authorization
// server, fixtures and the headless browser.
package testkit
