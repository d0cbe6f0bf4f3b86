"""RsaSignature2017 made as Mastodon makes it (ActivityPub::LinkedDataSignature#sign!), by an independent
implementation: PyLD (JSON-LD to RDF, URDNA2015) and the cryptography package, from Debian
(python3-pyld, python3-cryptography).

stdin: {"document": {...}, "keyId": "...", "privateKeyPem": "...", "created": "2024-01-01T00:00:00Z",
        "contexts": {"https://www.w3.org/ns/activitystreams": "/path/activitystreams.json", ...}}
stdout: the document with its "signature".
With "publicKeyPem" instead of a private key, the document's signature is verified (#verify_actor!'s check)
and stdout is {"ok": true|false}.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from pyld import jsonld

IDENTITY_CONTEXT = "https://w3id.org/identity/v1"


def main():
    request = json.load(sys.stdin)
    contexts = request["contexts"]

    def loader(url, options=None):
        if url not in contexts:
            raise ValueError("unknown context " + url)
        with open(contexts[url], encoding="utf-8") as f:
            return {"contextUrl": None, "documentUrl": url, "document": json.load(f)}

    def digest(doc):
        nquads = jsonld.normalize(
            doc, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
        )
        return hashlib.sha256(nquads.encode("utf-8")).hexdigest()

    def to_be_signed(document, options):
        fields = {k: v for k, v in options.items() if k not in ("type", "id", "signatureValue")}
        return (digest({**fields, "@context": IDENTITY_CONTEXT}) + digest(document)).encode("utf-8")

    document = {k: v for k, v in request["document"].items() if k != "signature"}
    if "publicKeyPem" in request:
        signature = request["document"]["signature"]
        key = serialization.load_pem_public_key(request["publicKeyPem"].encode("ascii"))
        try:
            key.verify(
                base64.b64decode(signature["signatureValue"]),
                to_be_signed(document, signature),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            ok = True
        except InvalidSignature:
            ok = False
        json.dump({"ok": ok}, sys.stdout)
        return
    options = {"type": "RsaSignature2017", "creator": request["keyId"], "created": request["created"]}
    key = serialization.load_pem_private_key(request["privateKeyPem"].encode("ascii"), password=None)
    value = key.sign(to_be_signed(document, options), padding.PKCS1v15(), hashes.SHA256())
    options["signatureValue"] = base64.b64encode(value).decode("ascii")
    json.dump({**document, "signature": options}, sys.stdout)


main()
