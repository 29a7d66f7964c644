// Writes the known-answer messages of tests/data/esdk/ with the AWS
// Encryption SDK for JavaScript (@aws-crypto/client-node) and a raw AES
// keyring under a fixed test key (see README.md). Run from the repository:
//   NODE_PATH=tools/node_modules node tests/data/esdk/make_kat.js tests/data/esdk
'use strict';
const fs = require('fs');
const path = require('path');
const {
  buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier,
  AlgorithmSuiteIdentifier,
} = require('@aws-crypto/client-node');

const dir = process.argv[2];
const key = Buffer.from(fs.readFileSync(path.join(dir, 'wrapping_key.hex'), 'utf8').trim(), 'hex');
const plaintext = fs.readFileSync(path.join(dir, 'plaintext.csv'));
const context = {
  'sealbid:manifest': 'a'.repeat(96),
  'sealbid:party': 'Buyer1',
};
const keyring = new RawAesKeyringNode({
  keyName: 'sealbid-test-key',
  keyNamespace: 'sealbid-test',
  unencryptedMasterKey: new Uint8Array(key),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

const cases = [
  ['kat_0478.bin', AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, 64],
  ['kat_0578.bin', AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 64],
  ['kat_0478_exact.bin', AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, 52],
  ['kat_0578_default_frame.bin', AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 4096],
];
(async () => {
  for (const [name, suiteId, frameLength] of cases) {
    const { result } = await encrypt(keyring, plaintext, { encryptionContext: context, suiteId, frameLength });
    fs.writeFileSync(path.join(dir, name), result);
  }
})().catch((e) => { console.error(e); process.exit(1); });
