package service

import (
	"context"
	"time"
)

// runEvery calls pass every interval until ctx ends. It is the loop of the
// background jobs that need no lease of their own (the store's leases are
// taken inside their passes) or take one per pass.
func runEvery(ctx context.Context, interval time.Duration, pass func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pass()
		}
	}
}

// counted adapts a pass that returns how many things it did to runJob: the
// count is logged as key when it is not zero.
func counted(key string, pass func(context.Context) (int, error)) func(context.Context) ([]any, error) {
	return func(ctx context.Context) ([]any, error) {
		n, err := pass(ctx)
		if err != nil || n == 0 {
			return nil, err
		}
		return []any{key, n}, nil
	}
}

// runJob runs one pass of the background job name, reports its duration and
// outcome to the Observer and logs it: an error as what failed (unless ctx
// ended, which is a shutdown, not a failure), and otherwise the attributes the
// pass returns, at Info, when it returns any (a pass that did nothing returns
// none and logs nothing).
func (s *Service) runJob(ctx context.Context, name, what string, pass func(context.Context) ([]any, error)) {
	start := time.Now()
	attrs, err := pass(ctx)
	if ctx.Err() != nil {
		return
	}
	s.obs.Job(name, time.Since(start), err)
	switch {
	case err != nil:
		s.log.Error(what, "err", err)
	case len(attrs) > 0:
		s.log.Info(what, attrs...)
	}
}
