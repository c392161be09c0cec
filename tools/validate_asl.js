#!/usr/bin/env node
// Runs two third-party Amazon States Language validators on state machine definitions:
//   asl-validator (JSON schemas + path syntax) and AWS's amazon-states-language-service (the
//   validation behind the AWS Toolkit's Step Functions editor).
// Input (stdin): a JSON object {name: definitionText, ...}.
// Output (stdout): a JSON object {name: {"asl-validator": [finding...], "amazon-states-language-service": [finding...]}}.
// Exit code 0 whatever was found (the caller judges the findings); 2 if the input is unusable.
'use strict';

const aslValidator = require('asl-validator');
const asl = require('amazon-states-language-service');

function aslValidatorFindings(text) {
  const { isValid, errors } = aslValidator(JSON.parse(text), { checkArn: true, checkPaths: true });
  if (isValid) return [];
  // Two shapes: the package's own checks ({"Error code", Message}) and ajv's schema errors.
  return errors.map((e) =>
    e['Error code'] ? `${e['Error code']}: ${e.Message}` : `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params || {})}`,
  );
}

async function languageServiceFindings(name, text) {
  const service = asl.getLanguageService({});
  const document = asl.TextDocument.create(`file:///${name}.asl.json`, 'json', 0, text);
  const json = service.parseJSONDocument(document);
  const diagnostics = await service.doValidation(document, json);
  return diagnostics.map((d) => {
    const at = `${d.range.start.line + 1}:${d.range.start.character + 1}`;
    const snippet = document.getText(d.range).slice(0, 80);
    return `${at} ${snippet} ${d.message}`;
  });
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  let definitions;
  try {
    definitions = JSON.parse(input);
  } catch (err) {
    process.stderr.write(`validate_asl: stdin is not JSON: ${err.message}\n`);
    process.exit(2);
  }
  const out = {};
  for (const [name, text] of Object.entries(definitions)) {
    out[name] = {
      'asl-validator': aslValidatorFindings(text),
      'amazon-states-language-service': await languageServiceFindings(name, text),
    };
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch((err) => {
  process.stderr.write(`validate_asl: ${err.stack || err}\n`);
  process.exit(2);
});
