import { useEffect, useRef, useState, type FormEvent } from 'react';
import { needsOrg, needsTotp, signIn } from '../lib/api';
import { ActionError } from '../components/states';

type Step = 'password' | 'totp';

export function SignIn() {
  const [step, setStep] = useState<Step>('password');
  const [email, setEmail] = useState('');
  const [orgId, setOrgId] = useState('');
  const [askOrg, setAskOrg] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const password = useRef<HTMLInputElement>(null);
  // The password stays in the input element only; it is read at submit time and not kept in state.
  const kept = useRef<string>('');
  const code = useRef<HTMLInputElement>(null);
  // For load-time measurement (the e2e test reads it): the form is on screen and usable.
  useEffect(() => {
    performance.mark('keyward:signin-ready');
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const pw = step === 'password' ? (password.current?.value ?? '') : kept.current;
    try {
      await signIn({
        email: email.trim(),
        password: pw,
        ...(step === 'totp' ? { totp_code: code.current?.value.trim() ?? '' } : {}),
        ...(orgId.trim() ? { org_id: orgId.trim() } : {}),
      });
      kept.current = '';
    } catch (err) {
      if (step === 'password' && needsTotp(err)) {
        // Hold the password only until the code is sent.
        kept.current = pw;
        setStep('totp');
        setTimeout(() => code.current?.focus(), 0);
      } else if (needsOrg(err)) {
        setAskOrg(true);
        setError(err);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <main className="card" aria-labelledby="signin-title">
        <div className="brand" style={{ padding: 0, marginBottom: '1rem' }}>
          <img src="./favicon.svg" alt="" width={24} height={24} />
          Keyward
        </div>
        <h1 id="signin-title">{step === 'password' ? 'Sign in' : 'Two-factor code'}</h1>
        <form className="form" onSubmit={(e) => void submit(e)} noValidate>
          {step === 'password' ? (
            <>
              <label className="field">
                Email
                <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
              </label>
              <label className="field">
                Password
                <input ref={password} type="password" name="password" autoComplete="current-password" required />
              </label>
              {askOrg && (
                <label className="field">
                  Organization id
                  <span className="hint">You belong to several organizations; sign in to one.</span>
                  <input name="org_id" value={orgId} onChange={(e) => setOrgId(e.target.value)} />
                </label>
              )}
            </>
          ) : (
            <label className="field">
              Code from your authenticator app
              <input ref={code} name="totp_code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required />
            </label>
          )}
          <ActionError error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Signing in…' : step === 'password' ? 'Sign in' : 'Verify'}
          </button>
          {step === 'totp' && (
            <button
              type="button"
              className="link"
              onClick={() => {
                kept.current = '';
                setStep('password');
                setError(null);
              }}
            >
              Start over
            </button>
          )}
        </form>
      </main>
    </div>
  );
}
