// node validate.cjs PARSER_DIR FILE... -- each FILE through the official AsyncAPI parser
// (@asyncapi/parser, installed by scripts/setup.sh into PARSER_DIR). Prints one line per file and
// every error; exit status 1 when any file has an error (severity 0), 2 on bad usage.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [parserDir, ...files] = process.argv.slice(2);
  if (!parserDir || files.length === 0) {
    console.error('usage: node validate.cjs PARSER_DIR FILE...');
    return 2;
  }
  const { Parser } = require(path.join(parserDir, 'node_modules', '@asyncapi', 'parser'));
  const parser = new Parser();
  let failed = 0;
  for (const file of files) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'));
    const errors = diagnostics.filter((d) => d.severity === 0);
    const warnings = diagnostics.filter((d) => d.severity === 1);
    if (errors.length > 0 || !document) {
      failed++;
      console.log(`asyncapi: ${file}: INVALID (${errors.length} errors)`);
      for (const e of errors) console.log(`  ${(e.path || []).join('.')}: ${e.message} [${e.code}]`);
      continue;
    }
    console.log(`asyncapi: ${file}: valid AsyncAPI ${document.version()}, ` +
                `${document.channels().length} channels, ${document.operations().length} operations, ` +
                `${document.messages().length} messages, ${warnings.length} warnings`);
    for (const w of warnings) console.log(`  warning ${(w.path || []).join('.')}: ${w.message} [${w.code}]`);
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => { console.error(err); process.exit(2); });
