// Package testkit holds test helpers shared by Strongroom's packages: throwaway
// PostgreSQL databases, running servers, fixtures and the headless browser.
package testkit
