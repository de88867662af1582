-- The benchmarks' rule set where every event is forwarded (issue #18's batching run:
-- "10,000 events/s offered, every one forwarded"): the usual 100 rules, and first of all
-- one that matches any message and pages, in production and on dev hosts alike.
\ir bench-rules.sql
INSERT INTO alert_rules (name, match_string, match_type, priority, prod_handling, dev_handling, team_assignment)
VALUES ('bench forward everything', '.', 'regex', 1, 'Page_and_ticket', 'Page_and_ticket', 'Bench');
