// Package trust provides the shape of the public trust page (/trust,
// /trust.json) and of the security questionnaire exported from it: a list of
// claims, each a question answered from the running system with the setting
// or evidence it was read from. The service computes the claims; this package
// only names them and writes them out, so the page, the JSON and the CSV can
// never say different things.
package trust

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// Claim is one statement of the trust page.
type Claim struct {
	// ID is stable (tests and questionnaires refer to it), such as
	// "tls.min_version".
	ID string `json:"id"`
	// Section groups claims on the page ("Transport", "Encryption at rest", …).
	Section string `json:"section"`
	// Question is the questionnaire's question the claim answers.
	Question string `json:"question"`
	// Answer is the claim in words, as the page shows it.
	Answer string `json:"answer"`
	// Value is the machine-readable value (a string, number, bool, time, list
	// or small object); nil when there is nothing to state ("not configured").
	Value any `json:"value"`
	// Source names the setting or the evidence the claim was read from.
	Source string `json:"source"`
}

// Page is the trust page: when it was computed, and its claims in order.
type Page struct {
	GeneratedAt time.Time `json:"generated_at"`
	Claims      []Claim   `json:"claims"`
}

// Claim returns the claim with id, or nil.
func (p *Page) Claim(id string) *Claim {
	for i := range p.Claims {
		if p.Claims[i].ID == id {
			return &p.Claims[i]
		}
	}
	return nil
}

// Sections returns the claims grouped by section, in the order the sections
// first appear.
func (p *Page) Sections() []Section {
	var out []Section
	at := map[string]int{}
	for _, c := range p.Claims {
		i, ok := at[c.Section]
		if !ok {
			i = len(out)
			at[c.Section] = i
			out = append(out, Section{Name: c.Section})
		}
		out[i].Claims = append(out[i].Claims, c)
	}
	return out
}

// Section is a group of claims on the page.
type Section struct {
	Name   string
	Claims []Claim
}

// QuestionnaireHeader is the CSV's first row.
var QuestionnaireHeader = []string{"id", "question", "answer", "evidence"}

// WriteQuestionnaire writes the page as a security questionnaire in CSV (RFC
// 4180): one row per claim with its id, question, answer and evidence (the
// claim's source). Cells that a spreadsheet would run as a formula (leading
// =, +, -, @, tab or carriage return) are prefixed with an apostrophe, since
// operators' settings (subprocessor names) appear in answers.
func WriteQuestionnaire(w io.Writer, p *Page) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(QuestionnaireHeader); err != nil {
		return fmt.Errorf("writing questionnaire: %w", err)
	}
	for _, c := range p.Claims {
		row := []string{c.ID, c.Question, c.Answer, c.Source}
		for i := range row {
			row[i] = SafeCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("writing questionnaire: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing questionnaire: %w", err)
	}
	return nil
}

// SafeCell defuses a cell a spreadsheet would evaluate as a formula.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Age states a duration in whole days, the unit key ages and evidence ages
// are given in.
func Age(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	switch {
	case d < 0:
		return "in the future"
	case days == 0:
		return "less than a day"
	case days == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}
