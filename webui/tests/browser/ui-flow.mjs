// The operator's round trip through the web UI in headless Chromium (issue #6), run by
// webui/tests/browser.rs against a web UI it started. Signs in, creates a rule (after a
// refused bad regex), tests an event against it, edits it, deletes it, replays a DLQ
// item, makes a silence, uploads a rules file for review, writes a screenshot of the dashboard (with its SVG charts), and checks that a read-only key sees no
// write controls. Exits non-zero with the step that failed.
//
// Environment: BASE_URL, ADMIN_KEY, READ_KEY, RULE_NAME, ARTIFACTS (a folder), CHROMIUM.
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('BASE_URL');
const artifacts = env('ARTIFACTS');
const ruleName = env('RULE_NAME');

let step = 'launching chromium';
const check = (ok, what) => {
  if (!ok) throw new Error(what);
};

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.setDefaultTimeout(15000);
const text = async (selector) => (await page.textContent(selector)) ?? '';

try {
  step = 'an anonymous visit goes to the sign-in page';
  await page.goto(`${base}/`);
  check(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);

  step = 'a wrong key is refused';
  await page.fill('#api_key', 'not-a-key');
  await page.click('button[type=submit]');
  check((await text('.error')).includes('not a valid key'), 'no error for a wrong key');

  step = 'the admin key signs in';
  await page.fill('#api_key', env('ADMIN_KEY'));
  await page.click('button[type=submit]');
  check((await text('h1')) === 'Dashboard', `h1 is ${await text('h1')}`);

  step = 'a rule with a bad regex is refused with the compiler message';
  await page.goto(`${base}/rules/new`);
  await page.fill('#name', ruleName);
  await page.selectOption('#match_type', 'regex');
  await page.fill('#match_string', 'BROWSER-TEST-(unclosed');
  await page.fill('#priority', '5');
  await page.fill('#prod_handling', 'Page_and_ticket');
  await page.fill('#dev_handling', 'Ignore');
  await page.fill('#team_assignment', 'BrowserTeam');
  await page.click('#save');
  const refusal = await text('#form-error');
  check(refusal.includes('regex'), `the refusal says: ${refusal}`);
  check((await page.inputValue('#name')) === ruleName, 'the form lost what was typed');

  step = 'the corrected rule is created';
  await page.fill('#match_string', 'BROWSER-TEST-[0-9]+ (down|flap)');
  await page.click('#save');
  check(new URL(page.url()).pathname === '/rules', `after saving: ${page.url()}`);
  const created = (await text('.notice')).match(/Rule (\d+) created/);
  check(created, `notice: ${await text('.notice')}`);
  const ruleId = created[1];
  check((await text('table.rules')).includes(ruleName), 'the new rule is not listed');

  step = 'an event is tested against the rules';
  await page.goto(`${base}/rules/test`);
  await page.fill(
    '#event',
    JSON.stringify({ hostname: 'router9.example.com', message: 'BROWSER-TEST-42 down', syslog_severity: 3 }),
  );
  await page.click('#run-test');
  const result = await text('#test-result');
  check(result.includes(`Matches rule ${ruleId}`), `test result: ${result}`);
  check(result.includes('BrowserTeam') && result.includes('Page_and_ticket'), `test result: ${result}`);

  step = 'the rule is edited';
  await page.goto(`${base}/rules/${ruleId}`);
  await page.fill('#team_assignment', 'BrowserTeamEdited');
  await page.fill('#reason', 'browser test edit');
  await page.click('#save');
  check((await text('.notice')).includes(`Rule ${ruleId} saved`), `notice: ${await text('.notice')}`);
  check((await text('table.rules')).includes('BrowserTeamEdited'), 'the edit is not listed');

  step = 'the rule is deleted';
  await page.click(`button[name=delete][value="${ruleId}"]`);
  check((await text('.notice')).includes('deleted'), `notice: ${await text('.notice')}`);
  check(!(await text('table.rules')).includes(ruleName), 'the deleted rule is still listed');

  step = 'a DLQ item is replayed';
  await page.goto(`${base}/dlq?queue=moog`);
  check((await text('h2')).includes('moog: 1 items'), `heading: ${await text('h2')}`);
  await page.click('#replay');
  check((await text('.notice')).includes('Replayed 1'), `notice: ${await text('.notice')}`);
  check((await text('h2')).includes('moog: 0 items'), `heading after replay: ${await text('h2')}`);

  step = 'a silence is made from its page';
  await page.goto(`${base}/silences`);
  await page.fill('#silence-hostname', 'browser-maint-*');
  await page.fill('#silence-minutes', '30');
  await page.fill('#silence-reason', 'browser test window');
  await page.click('form[action="/silences/create"] button[type=submit]');
  check((await text('.notice')).includes('made'), `notice: ${await text('.notice')}`);
  check((await text('#silences-active')).includes('browser-maint-*'), 'the silence is not listed as active');

  step = 'a rules file is uploaded and reviewed';
  await page.goto(`${base}/rules/file`);
  await page.setInputFiles('#upload', {
    name: 'rules.yaml',
    mimeType: 'application/yaml',
    buffer: Buffer.from('rules:\n  - name: uploaded rule\n    match_string: UPLOADED\n    prod_handling: Page_only\n    dev_handling: Ignore\n    team_assignment: Upload\n'),
  });
  await page.click('#upload-review');
  check((await text('#review-result')).includes('would create 1'), `review: ${await text('#review-result')}`);
  check((await page.inputValue('#file')).includes('uploaded rule'), 'the uploaded file is not in the editor');

  step = 'the dashboard draws its charts, the silences and storm control';
  await page.goto(`${base}/`);
  check((await text('#breaker')).trim().length > 0, 'no breaker state');
  check((await page.locator('svg.chart').count()) === 3, `${await page.locator('svg.chart').count()} charts`);
  check((await page.locator('svg#chart-24h rect.bar').count()) === 24, 'the 24-hour chart has not 24 bars');
  check((await text('#silences')).includes('1 active'), `silences: ${await text('#silences')}`);
  check((await text('#storm')).includes('Storm control'), 'no storm-control card');
  await page.screenshot({ path: `${artifacts}/dashboard.png`, fullPage: true });

  step = 'a read-only key sees no write controls';
  await page.click('header .signout button');
  check(new URL(page.url()).pathname === '/login', `after sign-out: ${page.url()}`);
  await page.fill('#api_key', env('READ_KEY'));
  await page.click('button[type=submit]');
  check((await text('header .user')).includes('read only'), 'not marked read only');
  await page.goto(`${base}/rules`);
  check((await page.locator('a[href="/rules/new"]').count()) === 0, 'a read-only user sees "New rule"');
  check((await page.locator('button.danger').count()) === 0, 'a read-only user sees delete buttons');
  await page.goto(`${base}/dlq?queue=moog`);
  check((await page.locator('#replay').count()) === 0, 'a read-only user sees replay');

  console.log('browser flow: ok');
} catch (error) {
  await page.screenshot({ path: `${artifacts}/failure.png`, fullPage: true }).catch(() => {});
  console.error(`browser flow failed at "${step}": ${error.message}`);
  console.error(`page: ${page.url()}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
