import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';

export function Badge({ tone, children, title }: { tone?: 'ok' | 'warn' | 'bad'; children: ReactNode; title?: string }) {
  return (
    <span className={`badge${tone ? ` ${tone}` : ''}`} title={title}>
      {children}
    </span>
  );
}

const TONES: Record<string, 'ok' | 'warn' | 'bad'> = {
  active: 'ok',
  valid: 'ok',
  success: 'ok',
  resolved: 'ok',
  accepted: 'ok',
  grace: 'warn',
  acknowledged: 'warn',
  snoozed: 'warn',
  pending: 'warn',
  rate_limited: 'warn',
  warning: 'warn',
  provider_unavailable: 'warn',
  network_error: 'warn',
  revoked: 'bad',
  expired: 'bad',
  invalid: 'bad',
  failure: 'bad',
  denied: 'bad',
  firing: 'bad',
  critical: 'bad',
  deleted: 'bad',
};

export function StatusBadge({ value }: { value: string }) {
  if (!value) return <span className="muted">—</span>;
  return <Badge tone={TONES[value]}>{value.replace(/_/g, ' ')}</Badge>;
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  };
  return (
    <button type="button" className="small" onClick={() => void copy()} aria-live="polite">
      {copied ? 'Copied' : label}
    </button>
  );
}

/** A modal dialog (native `<dialog>`: focus trap, Escape to close) or a side drawer. */
export function Dialog({
  open,
  onClose,
  title,
  children,
  drawer,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  children: ReactNode;
  drawer?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className={drawer ? 'drawer' : undefined} aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      {open && (
        <>
          <div className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="small" onClick={onClose} aria-label="Close">
              ✕
            </button>
          </div>
          <div className="dialog-body">{children}</div>
        </>
      )}
    </dialog>
  );
}

export function Stat({ label, value, sub }: { label: string; value: ReactNode; sub?: ReactNode }) {
  return (
    <div className="card stat">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {sub !== undefined && <div className="sub">{sub}</div>}
    </div>
  );
}

export function Meter({ spent, reserved = 0, total, thresholds = [], label }: { spent: number; reserved?: number; total: number; thresholds?: number[]; label: string }) {
  const pct = (v: number) => (total > 0 ? Math.min(100, (v / total) * 100) : 0);
  const s = pct(spent);
  const r = Math.min(100 - s, pct(reserved));
  return (
    <div
      className={`meter${spent >= total && total > 0 ? ' bad' : ''}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(s)}
      aria-valuetext={`${Math.round(s)}% spent`}
    >
      <div className="spent" style={{ width: `${s}%` }} />
      {r > 0 && <div className="reserved" style={{ left: `${s}%`, width: `${r}%` }} />}
      {thresholds.filter((t) => t < 100).map((t) => (
        <div key={t} className="tick" style={{ left: `${t}%` }} />
      ))}
    </div>
  );
}

// ---- toasts --------------------------------------------------------------------------------

interface Toast {
  id: number;
  text: string;
  tone?: 'bad' | 'warn';
}

const ToastCtx = createContext<(text: string, tone?: 'bad' | 'warn') => void>(() => undefined);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const push = useCallback((text: string, tone?: 'bad' | 'warn') => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-3), { id, text, tone }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);
  return (
    <ToastCtx.Provider value={push}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast${t.tone ? ` ${t.tone}` : ''}`}>
            {t.text}
          </div>
        ))}
      </div>
    </ToastCtx.Provider>
  );
}

export function useToast() {
  return useContext(ToastCtx);
}

export function PageHead({ title, sub, children }: { title: string; sub?: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-head">
      <div>
        <h1>{title}</h1>
        {sub && <p>{sub}</p>}
      </div>
      {children && <div className="row">{children}</div>}
    </div>
  );
}

export function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <div>
      <h3>{label}</h3>
      {value === null || value === undefined || value === '' ? (
        <p className="muted">—</p>
      ) : (
        <pre className="json" tabIndex={0} aria-label={label}>
          {typeof value === 'string' ? value : JSON.stringify(value, null, 2)}
        </pre>
      )}
    </div>
  );
}

/** A plain table of `items`: a visually hidden caption, column headers, one row of cells each. */
export function SimpleTable<T>({ caption, headers, items, rowKey, cells }: { caption: string; headers: string[]; items: T[]; rowKey: (item: T) => string; cells: (item: T) => ReactNode[] }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {headers.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={rowKey(item)}>
              {cells(item).map((c, i) => (
                <td key={headers[i] ?? i}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
