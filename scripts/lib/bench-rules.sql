-- The benchmarks' rule set, on top of v2.5's sample rules: 100 rules, half `contains`,
-- half `regex`. 91 never match the corpus (the cost of rules that are checked and miss);
-- the 9 below match about a fifth of data/corpus/events.json, so that about a fifth of
-- the events is paged and forwarded, as in a NOC's feed.
INSERT INTO alert_rules (name, match_string, match_type, priority, prod_handling, dev_handling, team_assignment)
SELECT 'bench ' || g,
       CASE WHEN g % 2 = 0 THEN 'BENCHCODE-' || g ELSE 'bench-iface-' || g || '-[a-z]+ (down|flap)' END,
       CASE WHEN g % 2 = 0 THEN 'contains' ELSE 'regex' END, 50 + g, 'Page_and_ticket', 'Ignore', 'Bench'
FROM generate_series(1, 91) g;
INSERT INTO alert_rules (name, match_string, match_type, priority, prod_handling, dev_handling, team_assignment)
SELECT 'bench corpus ' || s, s, 'contains', 40, 'Page_and_ticket', 'Ignore', 'Bench'
FROM unnest(ARRAY['%LINK-3-UPDOWN', 'SNMP_TRAP_LINK_DOWN', 'monitor status down', 'Out of memory',
                  'FRU_PS_FAIL', 'BGP_NEIGHBOR_STATE_CHANGED', 'linkDown:', 'IF_DOWN_LINK_FAILURE',
                  'No members available']) s;
