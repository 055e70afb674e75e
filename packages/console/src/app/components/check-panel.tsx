import { useEffect, useState } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import { fieldErrorsOf, type FieldErrors } from '../../shared/field-errors';
import { ErrorBanner, TextField } from '../../shared/form-controls';
import type { CheckResult } from '../../shared/types';
import { api } from '../api';

const STEP_NAMES: Record<string, string> = { dns: 'DNS', http: 'Answers “Hello.”' };

interface CheckPanelProps {
  host: string;
  /** Called after each check: the domain's recorded status changed. */
  onChecked(): void;
}

/**
 * The seed's "visit your chosen domain and see Hello.": runs the admin API's check at once and
 * shows each step and what to fix. A proxy not in DNS yet can be aimed at by address and port.
 */
export function CheckPanel({ host, onChecked }: CheckPanelProps) {
  const [result, setResult] = useState<CheckResult>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [address, setAddress] = useState('');
  const [port, setPort] = useState('');

  const run = async (aim: { address?: string; port?: number }) => {
    setRunning(true);
    setError(undefined);
    setFieldErrors({});
    try {
      setResult(await api.checkDomain(host, aim));
      onChecked();
    } catch (failure) {
      if (failure instanceof ApiRequestError && failure.issues.length > 0) setFieldErrors(fieldErrorsOf(failure.issues, { address, port }));
      else setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setRunning(false);
    }
  };

  useEffect(() => {
    void run({});
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, when the panel opens
  }, [host]);

  const aimed = () => {
    const portNumber = port.trim() === '' ? undefined : Number(port.trim());
    if (portNumber !== undefined && !Number.isInteger(portNumber)) return setFieldErrors({ port: 'Must be a whole number from 1 to 65535.' });
    void run({ ...(address.trim() && { address: address.trim() }), ...(portNumber !== undefined && { port: portNumber }) });
  };

  return (
    <section className="check-panel" aria-label={`Check of ${host}`} aria-busy={running}>
      {running && <p className="muted" role="status">Checking {host}…</p>}
      <ErrorBanner message={error ?? fieldErrors.form} />
      {result && !running && (
        <div className={`check-result ${result.ok ? 'check-ok' : 'check-failed'}`} role="status">
          <p className="verdict">{result.verdict}</p>
          <ol className="steps">
            {result.steps.map((step) => (
              <li key={step.name} className={step.ok ? 'step-ok' : 'step-failed'}>
                <span className="step-mark" aria-hidden="true">
                  {step.ok ? '✓' : '✕'}
                </span>
                <span className="step-name">{STEP_NAMES[step.name] ?? step.name}</span>
                <span className="step-detail">{step.detail}</span>
              </li>
            ))}
          </ol>
          {result.advice.length > 0 && (
            <div className="advice">
              <h4>What to fix</h4>
              <ul>
                {result.advice.map((advice) => (
                  <li key={advice}>{advice}</li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
      <details className="aim">
        <summary>Check through a proxy that is not in DNS yet</summary>
        <div className="aim-fields">
          <TextField name="address" label="Proxy address" value={address} onChange={setAddress} placeholder="203.0.113.10" error={fieldErrors.address} mono />
          <TextField name="port" label="Port" value={port} onChange={setPort} placeholder={'443'} error={fieldErrors.port} mono />
        </div>
      </details>
      <div className="actions">
        <button type="button" className="button" onClick={aimed} disabled={running}>
          Check again
        </button>
      </div>
    </section>
  );
}
