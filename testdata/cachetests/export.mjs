// export.mjs writes tests.json: the test definitions of the HTTP cache
// test suite (npm package http-cache-tests, https://cache-tests.fyi/) in
// the selection its browser runner makes for a private cache (every test
// but those marked browser_skip), one test per line.
//
//	npm pack http-cache-tests@0.4.5 && tar xzf http-cache-tests-0.4.5.tgz
//	node export.mjs package > tests.json
import { pathToFileURL } from 'url'
import path from 'path'

const dir = path.resolve(process.argv[2] || 'package')
const { default: suites } = await import(pathToFileURL(path.join(dir, 'tests/index.mjs')))
const out = suites.map(s => {
  const tests = s.tests.filter(t => t.browser_skip !== true).map(t => JSON.stringify(t))
  const head = JSON.stringify({ id: s.id, name: s.name, spec_anchors: s.spec_anchors || [] })
  return head.slice(0, -1) + ',"tests":[\n' + tests.join(',\n') + '\n]}'
})
process.stdout.write('[\n' + out.join(',\n') + '\n]\n')
