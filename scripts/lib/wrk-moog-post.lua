-- wrk: POST one Moog webhook payload per request, as a forwarder does unbatched (the
-- same-run baseline of scripts/bench-forwarder and scripts/bench-batching).
wrk.method = "POST"
wrk.body = '{"source":"core-rtr-03.dc1.example.net","source_id":"core-rtr-03.dc1.example.net","external_id":"0192a7f4-8f3e-7c1a-9d2b-3c4d5e6f7a8b","severity":4,"type":"MUTT_Alert","manager":"MUTT","class":"NetOps","description":"%LINK-3-UPDOWN: Interface GigabitEthernet1/0/14, changed state to down","agent_time":1764500000,"signature":"core-rtr-03.dc1.example.net:42","custom_info":{"team":"NetOps","rule_id":42}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-moog-key"
