"""sealbid-kms driven by boto3: every supported operation and its errors.

Run by test_kms_boto3.sh with KMS_URL set and the principals of
test_kms_lib.bash's write_config. Exits non-zero on the first mismatch.

DryRun is sent as a raw SigV4-signed request (botocore's signer, urllib):
Debian's boto3 1.26 predates KMS's DryRun parameter, and botocore would
either refuse it (validation on) or silently drop it (validation off).
"""
import base64
import json
import os
import sys
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["KMS_URL"]
ACCT = "111122223333"
B1 = ("AKIAEXAMPLEBUYER1", "buyer1/secret/EXAMPLEKEY", f"arn:aws:iam::{ACCT}:user/buyer1")
B2 = ("AKIAEXAMPLEBUYER2", "buyer2/secret/EXAMPLEKEY", f"arn:aws:iam::{ACCT}:user/buyer2")


def client(who):
    return boto3.client(
        "kms", endpoint_url=URL, region_name="us-east-1",
        aws_access_key_id=who[0], aws_secret_access_key=who[1],
        config=Config(retries={"max_attempts": 1}))


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def error(code, fn, *args, **kw):
    """fn(*args, **kw) must fail with the AWS error code."""
    try:
        fn(*args, **kw)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        check(got == code, f"{fn.__name__}: want {code}, got {got}: {e}")
        return e
    check(False, f"{fn.__name__}: want {code}, it succeeded")


def raw(who, op, body):
    """One signed request outside boto3's model: (status, json)."""
    data = json.dumps(body).encode()
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=URL + "/", data=data,
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": f"TrentService.{op}"})
    creds = botocore.credentials.Credentials(who[0], who[1])
    botocore.auth.SigV4Auth(creds, "kms", "us-east-1").add_auth(req)
    prepared = urllib.request.Request(URL + "/", data=data, method="POST",
                                      headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def policy_for(*arns):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(arns)}, "Action": "kms:*",
         "Resource": "*"}]})


def main():
    k1, k2 = client(B1), client(B2)

    # CreateKey: Tags kept, MultiRegion refused, DescribeKey.
    md = k1.create_key(Description="boto3 key", Tags=[
        {"TagKey": "team", "TagValue": "auction"}])["KeyMetadata"]
    key, arn = md["KeyId"], md["Arn"]
    check(md["KeyState"] == "Enabled" and md["Enabled"], "new key state")
    error("UnsupportedOperationException", k1.create_key, MultiRegion=True)
    error("TagException", k1.create_key, Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    check(k1.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "boto3 key", "describe")
    tags = k1.list_resource_tags(KeyId=key)["Tags"]
    check(tags == [{"TagKey": "team", "TagValue": "auction"}], f"tags {tags}")

    # Tags, description, key policies.
    k1.tag_resource(KeyId=key, Tags=[{"TagKey": "round", "TagValue": "1"}])
    k1.untag_resource(KeyId=key, TagKeys=["team"])
    check(k1.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "round", "TagValue": "1"}],
          "untag")
    k1.update_key_description(KeyId=key, Description="renamed")
    check(k1.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "renamed", "description")
    check(k1.list_key_policies(KeyId=key)["PolicyNames"] == ["default"], "list-key-policies")
    k1.put_key_policy(KeyId=key, PolicyName="default", Policy=policy_for(B1[2]))
    check(json.loads(k1.get_key_policy(KeyId=key, PolicyName="default")["Policy"]) ==
          json.loads(policy_for(B1[2])), "get-key-policy")
    error("AccessDeniedException", k2.describe_key, KeyId=key)

    # Encrypt / Decrypt at the plaintext limit; algorithms.
    big = os.urandom(4096)
    blob = k1.encrypt(KeyId=key, Plaintext=big)["CiphertextBlob"]
    check(k1.decrypt(CiphertextBlob=blob)["Plaintext"] == big, "4096-byte round trip")
    error("ValidationException", k1.encrypt, KeyId=key, Plaintext=big + b"x")
    error("InvalidKeyUsageException", k1.encrypt, KeyId=key, Plaintext=b"x",
          EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    error("InvalidCiphertextException", k1.decrypt, CiphertextBlob=b"\0" * 6144)
    error("ValidationException", k1.decrypt, CiphertextBlob=b"\0" * 6145)

    # Data keys, random.
    ctx = {"sealbid:party": "buyer1"}
    dk = k1.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext=ctx)
    check(len(dk["Plaintext"]) == 32, "data key")
    wp = k1.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=16,
                                                EncryptionContext=ctx)
    check("Plaintext" not in wp, "without plaintext")
    check(len(k1.decrypt(CiphertextBlob=wp["CiphertextBlob"],
                         EncryptionContext=ctx)["Plaintext"]) == 16, "wp round trip")
    check(len(k1.generate_random(NumberOfBytes=24)["Plaintext"]) == 24, "random")

    # DryRun (raw: see the module comment).
    st, body = raw(B1, "Encrypt", {"KeyId": key, "Plaintext": "eA==", "DryRun": True})
    check(st == 412 and body.get("__type") == "DryRunOperationException", f"dry run {st} {body}")
    st, body = raw(B2, "Encrypt", {"KeyId": key, "Plaintext": "eA==", "DryRun": True})
    check(body.get("__type") == "AccessDeniedException", f"dry run, no permission: {body}")

    # Aliases, ReEncrypt.
    key2 = k1.create_key(Policy=policy_for(B1[2]))["KeyMetadata"]["KeyId"]
    k1.create_alias(AliasName="alias/boto3", TargetKeyId=key)
    k1.update_alias(AliasName="alias/boto3", TargetKeyId=key2)
    check(k1.describe_key(KeyId="alias/boto3")["KeyMetadata"]["KeyId"] == key2, "update-alias")
    check(any(a["AliasName"] == "alias/boto3" for a in k1.list_aliases()["Aliases"]), "aliases")
    re = k1.re_encrypt(CiphertextBlob=dk["CiphertextBlob"], SourceEncryptionContext=ctx,
                       DestinationKeyId="alias/boto3")
    check(re["KeyId"].endswith(key2) and re["SourceKeyId"] == arn, "re-encrypt ids")
    check(k1.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"] == dk["Plaintext"],
          "re-encrypt round trip")
    k1.delete_alias(AliasName="alias/boto3")
    error("NotFoundException", k1.describe_key, KeyId="alias/boto3")

    # Listings and markers.
    pages = list(k1.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1}))
    ids = [k["KeyId"] for p in pages for k in p["Keys"]]
    check(key in ids and key2 in ids and len(pages) >= 2, "list-keys pages")
    error("InvalidMarkerException", k1.list_keys, Marker="not-a-marker")

    # Grants: buyer2 may decrypt what names it, once granted.
    b2blob = k1.encrypt(KeyId=key, Plaintext=b"bid",
                        EncryptionContext={"party": "buyer2"})["CiphertextBlob"]
    error("AccessDeniedException", k2.decrypt, CiphertextBlob=b2blob,
          EncryptionContext={"party": "buyer2"})
    g = k1.create_grant(KeyId=key, GranteePrincipal=B2[2], Operations=["Decrypt"],
                        RetiringPrincipal=B2[2], Name="buyer2",
                        Constraints={"EncryptionContextSubset": {"party": "buyer2"}})
    check(k2.decrypt(CiphertextBlob=b2blob, EncryptionContext={"party": "buyer2"})
          ["Plaintext"] == b"bid", "grant decrypt")
    error("AccessDeniedException", k2.decrypt, CiphertextBlob=blob)
    grants = k1.list_grants(KeyId=key)["Grants"]
    check(len(grants) == 1 and grants[0]["GrantId"] == g["GrantId"] and
          grants[0]["Constraints"] == {"EncryptionContextSubset": {"party": "buyer2"}},
          f"list-grants {grants}")
    k2.retire_grant(GrantToken=g["GrantToken"])
    error("InvalidGrantTokenException", k2.retire_grant, GrantToken=g["GrantToken"])
    error("AccessDeniedException", k2.decrypt, CiphertextBlob=b2blob,
          EncryptionContext={"party": "buyer2"})
    g = k1.create_grant(KeyId=key, GranteePrincipal=B2[2], Operations=["Encrypt"])
    k2.encrypt(KeyId=key, Plaintext=b"x")
    k1.revoke_grant(KeyId=key, GrantId=g["GrantId"])
    error("NotFoundException", k1.revoke_grant, KeyId=key, GrantId=g["GrantId"])
    error("InvalidGrantIdException", k1.revoke_grant, KeyId=key, GrantId="x")
    error("AccessDeniedException", k2.encrypt, KeyId=key, Plaintext=b"x")

    # Key states.
    k1.disable_key(KeyId=key)
    error("DisabledException", k1.encrypt, KeyId=key, Plaintext=b"x")
    k1.enable_key(KeyId=key)
    error("ValidationException", k1.schedule_key_deletion, KeyId=key, PendingWindowInDays=6)
    sd = k1.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    check(sd["KeyState"] == "PendingDeletion" and sd["PendingWindowInDays"] == 7, "schedule")
    error("KMSInvalidStateException", k1.decrypt, CiphertextBlob=blob)
    error("KMSInvalidStateException", k1.enable_key, KeyId=key)
    md = k1.describe_key(KeyId=key)["KeyMetadata"]
    check(md["KeyState"] == "PendingDeletion" and "DeletionDate" in md, "pending metadata")
    k1.cancel_key_deletion(KeyId=key)
    check(k1.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled", "cancelled")
    error("KMSInvalidStateException", k1.cancel_key_deletion, KeyId=key)
    k1.enable_key(KeyId=key)
    check(k1.decrypt(CiphertextBlob=blob)["Plaintext"] == big, "usable again")
    print("boto3: all operations checked")


if __name__ == "__main__":
    main()
