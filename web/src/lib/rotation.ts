// When a provider key should be rotated: a badge at 60 days ("due"), a stronger one at 90
// ("overdue"), counted from the key's last rotation (or creation).

import { daysBetween } from './time';

export const ROTATION_DUE_DAYS = 60;
export const ROTATION_OVERDUE_DAYS = 90;

export type RotationLevel = 'ok' | 'due' | 'overdue' | 'inactive';

export interface RotationState {
  level: RotationLevel;
  ageDays: number;
  /** Days until the next level (0 once overdue). */
  daysLeft: number;
  label: string;
}

export interface RotatableKey {
  status: string;
  created_at?: string | null;
  rotated_at?: string | null;
}

export function rotationState(key: RotatableKey, now: Date): RotationState {
  const since = key.rotated_at || key.created_at;
  const ageDays = since ? daysBetween(since, now) : 0;
  if (key.status === 'revoked' || key.status === 'deleted' || key.status === 'expired') {
    return { level: 'inactive', ageDays, daysLeft: 0, label: '' };
  }
  if (ageDays >= ROTATION_OVERDUE_DAYS) {
    return { level: 'overdue', ageDays, daysLeft: 0, label: `Rotation overdue (${ageDays} d)` };
  }
  if (ageDays >= ROTATION_DUE_DAYS) {
    const left = ROTATION_OVERDUE_DAYS - ageDays;
    return { level: 'due', ageDays, daysLeft: left, label: `Rotation due (${left} d left)` };
  }
  return { level: 'ok', ageDays, daysLeft: ROTATION_DUE_DAYS - ageDays, label: '' };
}
