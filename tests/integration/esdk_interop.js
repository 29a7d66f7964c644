// The AWS Encryption SDK for JavaScript (@aws-crypto/client-node v5) against
// sealbid-kms, for test_esdk_interop.sh. NODE_PATH must reach tools/node_modules;
// credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
//
//   node esdk_interop.js encrypt ENDPOINT KEY_ARN SUITE FRAME_LEN MANIFEST_HASH PARTY IN OUT
//   node esdk_interop.js decrypt ENDPOINT KEY_ARN MANIFEST_HASH PARTY IN OUT
//
// SUITE is 0x0478 or 0x0578. decrypt checks the encryption context is the
// job's (sealbid:manifest, sealbid:party, and aws-crypto-public-key only
// when signed) and prints "suite=0x.... frame=N" on success.
'use strict';
const fs = require('fs');
const {
  KmsKeyringNode, buildClient, CommitmentPolicy, AlgorithmSuiteIdentifier,
} = require('@aws-crypto/client-node');
const { KMS } = require('@aws-sdk/client-kms');

const SUITES = {
  '0x0478': AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
  '0x0578': AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
};

function keyring(endpoint, keyArn, generate) {
  const clientProvider = () => new KMS({
    endpoint,
    region: 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
  });
  return generate ? new KmsKeyringNode({ clientProvider, generatorKeyId: keyArn })
    : new KmsKeyringNode({ clientProvider, keyIds: [keyArn] });
}

function die(msg) {
  process.stderr.write(`esdk_interop: ${msg}\n`);
  process.exit(1);
}

async function encrypt([endpoint, keyArn, suite, frame, hash, party, input, output]) {
  if (!(suite in SUITES)) die(`unknown suite ${suite}`);
  const { encrypt: enc } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { result } = await enc(keyring(endpoint, keyArn, true), fs.readFileSync(input), {
    encryptionContext: { 'sealbid:manifest': hash, 'sealbid:party': party },
    suiteId: SUITES[suite],
    frameLength: Number(frame),
  });
  fs.writeFileSync(output, result, { mode: 0o600 });
}

async function decrypt([endpoint, keyArn, hash, party, input, output]) {
  const { decrypt: dec } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { plaintext, messageHeader: h } = await dec(keyring(endpoint, keyArn, false),
    fs.readFileSync(input));
  const ctx = h.encryptionContext;
  const signed = h.suiteId === SUITES['0x0578'];
  const want = ['sealbid:manifest', 'sealbid:party'].concat(signed ? ['aws-crypto-public-key'] : []);
  if (JSON.stringify(Object.keys(ctx).sort()) !== JSON.stringify(want.sort())) {
    die(`context keys ${Object.keys(ctx).join(',')}`);
  }
  if (ctx['sealbid:manifest'] !== hash) die('sealbid:manifest differs');
  if (ctx['sealbid:party'] !== party) die('sealbid:party differs');
  if (h.encryptedDataKeys.length !== 1 || h.encryptedDataKeys[0].providerId !== 'aws-kms' ||
      h.encryptedDataKeys[0].providerInfo !== keyArn) {
    die('expected one aws-kms EDK under the key');
  }
  fs.writeFileSync(output, plaintext, { mode: 0o600 });
  process.stdout.write(`suite=0x${h.suiteId.toString(16).padStart(4, '0')} frame=${h.frameLength}\n`);
}

const [mode, ...args] = process.argv.slice(2);
const run = { encrypt, decrypt }[mode];
if (run === undefined) die('mode is encrypt or decrypt');
run(args).catch((e) => die(`${e.name}: ${e.message}`));
