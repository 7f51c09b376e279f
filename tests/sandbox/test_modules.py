"""Hostile workflows that load code from elsewhere: remote URLs, `jsr:`, `npm:`, `data:`, `blob:`.

Static imports of anything but local files are refused by the graph check. At run time
`--no-remote --no-npm --deny-import --cached-only` stop remote and package code, while `data:`
and `blob:` modules do load (they bring their own source) but run with the same zero
permissions: whatever they import or read is checked like any computed access.
"""

from __future__ import annotations

import pytest

from host.errors import WorkflowRefused
from tests.sandbox.conftest import Arena, Secrets, assert_no_leak, hostile, probe, probe_body

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    "statement",
    [
        'import x from "https://deno.land/std@0.224.0/version.ts";',
        'import x from "http://127.0.0.1:8080/evil.ts";',
        'import x from "jsr:@std/path";',
        'import x from "npm:left-pad@1.3.0";',
        'import x from "data:text/javascript,export default 1";',
        'import x from "node:process";',
        'const x = await import("https://deno.land/x/evil/mod.ts");',
    ],
    ids=["https", "http", "jsr", "npm", "data", "node-builtin", "dynamic-literal-https"],
)
async def test_static_imports_of_non_local_modules_are_refused(arena: Arena, statement: str) -> None:
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(hostile("remote", "await ctx.report({ title: String(x) });", prelude=statement))
    assert "only local modules" in info.value.reason or "npm" in info.value.reason, info.value.reason
    await arena.healthy()


@pytest.mark.parametrize(
    ("specifier", "words"),
    [
        ('"https://deno.land/" + "std/version.ts"', "Requires import access"),
        ('"http://127.0.0.1:8080/" + "evil.ts"', "Requires import access"),
        ('"jsr:" + "@std/path"', "Requires import access"),
        ('"npm:" + "left-pad"', "--no-npm"),
    ],
    ids=["https", "http", "jsr", "npm"],
)
async def test_computed_imports_of_remote_and_package_code_fail(arena: Arena, specifier: str, words: str) -> None:
    wf = await arena.load(probe("remote", f"return String((await import({specifier})).default);"))
    body = probe_body(await arena.run(wf))
    assert body.startswith("DENIED") and words in body, body
    await arena.healthy(wf)


INLINE_MODULES = {
    "read-file": "let out; try { out = Deno.readTextFileSync(@PATH@); } catch (e) { out = String(e); } export default out;",
    "static-import-of-file": "import s from @URL@ with { type: 'text' }; export default s;",
    "dynamic-import-of-file": "export default (await import(@URL@, { with: { type: 'text' } })).default;",
    "fetch": "let out; try { out = String((await fetch('http://127.0.0.1:8080/')).status); } catch (e) { out = String(e); }"
             " export default out;",
    "env": "let out; try { out = Deno.env.get('WFHOST_TEST_SECRET'); } catch (e) { out = String(e); } export default out;",
    "import-remote": "import x from 'https://deno.land/std/version.ts'; export default x;",
}
EXPECTED = {
    "read-file": "Requires read access", "static-import-of-file": "Requires read access",
    "dynamic-import-of-file": "Requires read access", "fetch": "Requires net access", "env": "Requires env access",
    "import-remote": "Requires import access",
}


@pytest.mark.parametrize("scheme", ["data", "blob"])
@pytest.mark.parametrize("what", list(INLINE_MODULES))
async def test_data_and_blob_modules_run_with_the_same_zero_permissions(
    arena: Arena, secrets: Secrets, scheme: str, what: str
) -> None:
    code = INLINE_MODULES[what].replace("@PATH@", repr(str(secrets.file))).replace("@URL@", repr(secrets.file.as_uri()))
    if scheme == "data":
        url = f'"data:text/javascript," + encodeURIComponent({code!r})'
    else:
        url = f'URL.createObjectURL(new Blob([{code!r}], {{ type: "text/javascript" }}))'
    wf = await arena.load(probe("inline", f"return String((await import({url})).default);"))
    result = await arena.run(wf)
    body = probe_body(result)
    assert EXPECTED[what] in body, body
    assert_no_leak(result, *secrets.all)
    await arena.healthy(wf)
