import type { ReactNode } from 'react';
import { ApiError } from '../lib/api';

export function Loading({ label = 'Loading…', rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div role="status" aria-live="polite" className="stack" style={{ padding: '0.75rem 0' }}>
      <span className="sr-only">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - i * 15}%` }} />
      ))}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

/** An error with the API's message and request id; a missing route gets its own explanation. */
export function ErrorState({ error, onRetry, what, compact }: { error: unknown; onRetry?: () => void; what?: string; compact?: boolean }) {
  const e = error instanceof ApiError ? error : null;
  const unavailable = e?.routeUnavailable ?? false;
  const title = unavailable
    ? `Not available on this server yet${what ? `: ${what}` : ''}`
    : e?.status === 403
      ? 'You do not have permission to see this'
      : `Could not load ${what ?? 'this'}`;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className={`state error${unavailable ? ' unavailable' : ''}${compact ? ' compact' : ''}`} role="alert">
      <h3>{title}</h3>
      {!(compact && unavailable) && (
        <p style={{ margin: '0.25rem 0' }}>
          {unavailable && e?.status === 404 ? 'The gateway does not serve this route (it may be an older version).' : message}
        </p>
      )}
      {e?.requestId && (
        <p className="muted" style={{ margin: 0, fontSize: '0.85rem' }}>
          Request id: <code>{e.requestId}</code>
        </p>
      )}
      {onRetry && (
        <button type="button" className="small" onClick={onRetry} style={{ marginTop: '0.5rem' }}>
          Try again
        </button>
      )}
    </div>
  );
}

/** The error of a failed action, inline under a form. */
export function ActionError({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div className="field-error" role="alert">
      {error instanceof Error ? error.message : String(error)}
      {e?.field ? ` (field: ${e.field})` : ''}
      {e?.requestId ? (
        <>
          {' '}
          — request id <code>{e.requestId}</code>
        </>
      ) : null}
    </div>
  );
}

interface QueryLike<T> {
  data: T | undefined;
  error: unknown;
  isPending: boolean;
  refetch: () => unknown;
}

/** Renders loading / error / empty / data for one query. */
export function QueryView<T>({
  q,
  what,
  empty,
  isEmpty,
  children,
}: {
  q: QueryLike<T>;
  what: string;
  empty?: ReactNode;
  isEmpty?: (d: T) => boolean;
  children: (d: T) => ReactNode;
}) {
  if (q.isPending) return <Loading label={`Loading ${what}…`} />;
  if (q.error) return <ErrorState error={q.error} what={what} onRetry={() => void q.refetch()} />;
  if (q.data === undefined) return null;
  if (isEmpty?.(q.data) && empty) return <>{empty}</>;
  return <>{children(q.data)}</>;
}
