-- PagerDuty incidents follow Keyward's acknowledge and resolve: deliveries for those reasons.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_reason_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_reason_check
    CHECK (reason IN ('fired', 'refired', 'escalation', 'reminder', 'test', 'acknowledged', 'resolved'));
