import { describe, expect, it } from 'vitest';
import { ApiError, needsOrg, needsTotp, toApiError } from './api';

const res = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('API errors', () => {
  it('reads the one error shape with field and request id', async () => {
    const e = await toApiError(res(400, { error: { code: 'invalid_argument', message: 'rpm: expected u32', field: 'rpm', request_id: 'r1' } }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 400, code: 'invalid_argument', message: 'rpm: expected u32', field: 'rpm', requestId: 'r1' });
    expect(e.routeUnavailable).toBe(false);
  });
  it('falls back to the x-request-id header and the status for bodies that are not JSON', async () => {
    const e = await toApiError(new Response('oops', { status: 502, statusText: 'Bad Gateway', headers: { 'x-request-id': 'h1' } }));
    expect(e.message).toBe('502 Bad Gateway');
    expect(e.requestId).toBe('h1');
    expect(e.routeUnavailable).toBe(true);
  });
  it('tells a missing route from a missing object', async () => {
    expect((await toApiError(res(404, { error: { code: 'not_found', message: 'route not found', request_id: 'x' } }))).routeUnavailable).toBe(true);
    expect((await toApiError(res(404, { error: { code: 'not_found', message: 'provider key not found', request_id: 'x' } }))).routeUnavailable).toBe(false);
    expect((await toApiError(res(503, { error: { code: 'unavailable', message: 'the key vault is unavailable', request_id: 'x' } }))).routeUnavailable).toBe(true);
  });
  it('recognises the TOTP and organization prompts of sign-in', () => {
    expect(needsTotp(new ApiError(401, 'unauthenticated', 'totp_code is required for this account'))).toBe(true);
    expect(needsTotp(new ApiError(401, 'unauthenticated', 'invalid email or password'))).toBe(false);
    expect(needsOrg(new ApiError(422, 'unprocessable', 'required: you are a member of several organizations', 'org_id'))).toBe(true);
  });
});
