#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the tests' inputs.

The inputs below are the ones the integration and unit tests send (crates/server/tests/it/
and the decoders' unit tests), in each target's input layout (src/fuzzing.rs): the ids the
tests get from a running server are replaced by ids of the same shape. The config target
takes every file of crates/server/tests/config/ and config/parley.example.toml.

Run from anywhere; existing seed files of the same content are kept (names are the
SHA-1 of the content, as libFuzzer names them). `scripts/fuzz seed` runs it.
"""

import hashlib
import json
import os
import glob

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

SID = "S0001AbCdEf12345"  # a session id as the server makes them
UID = "ABCDEF0123456789"  # a party id
KEY = "0123456789abcdef0123456789abcdef"  # a secure key
BOUNDARY = "parleyfuzzboundary"


def j(v):
    return json.dumps(v, separators=(",", ":"))


def multipart(fields, files=()):
    out = []
    for name, value in fields:
        out.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    for name, filename, ctype, data in files:
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n{data}\r\n"
        )
    out.append(f"--{BOUNDARY}--\r\n")
    return f"multipart/form-data; boundary={BOUNDARY}\n" + "".join(out)


def urlencoded(pairs):
    from urllib.parse import urlencode

    return "application/x-www-form-urlencoded\n" + urlencode(pairs)


basic = [
    {"type": "register", "requestId": 1, "nickname": "Steve", "partyType": "CLIENT", "clientVersion": 106},
    {"type": "register", "nickname": "Pat", "partyType": "CLIENT", "clientVersion": 106, "resume": {"userId": UID, "secureKey": KEY}},
    {"type": "register", "nickname": "Mallory", "partyType": "SUPERVISOR", "credentials": {"apiKey": "guess"}},
    {"type": "register", "nickname": "Alex", "partyType": "AGENT", "credentials": {"agentToken": "tok"}},
    {"type": "register", "nickname": "x", "partyType": "CLIENT", "clientVersion": 99},
    {"type": "createSession", "requestId": 2, "subject": "Order 42", "userData": {"EmailAddress": "c@example.com"}},
    {"type": "join", "sessionId": SID, "visibility": "ALL", "userData": {"GCTI_Chat_SessionPassword": "wrong"}},
    {"type": "resume", "sessionId": SID, "lastEventId": 0},
    {"type": "message", "requestId": 3, "sessionId": SID, "text": "hi", "clientMessageId": "m1"},
    {"type": "message", "sessionId": SID, "text": "vip only", "visibility": "VIP", "receiverId": UID},
    {"type": "message", "sessionId": "../../etc/passwd", "text": "x"},
    {"type": "message", "sessionId": SID, "text": "x", "extra": True},
    {"type": "notify", "sessionId": SID, "noticeType": "TYPING_STARTED", "text": "my order num"},
    {"type": "notify", "sessionId": SID, "noticeType": "SYS_COMMAND", "text": "read-confirm", "userData": {"last-event-id": "99999"}},
    {"type": "notify", "sessionId": SID, "noticeType": "SYS_COMMAND", "text": "file-deleted", "userData": {"file-id": "1"}},
    {"type": "notify", "sessionId": SID, "noticeType": "NOT_A_NOTICE"},
    {"type": "release", "sessionId": SID, "afterAction": "CloseIfNoAgents", "text": "bye"},
    {"type": "selfDestruct"},
]

server_frames = [
    {"type": "registered", "requestId": 1, "userId": UID, "secureKey": KEY, "clientVersion": 106, "protocolVersion": 1},
    {"type": "error", "requestId": 3, "code": 1003, "name": "INVALID_FIELD", "message": "bad", "retryAfterMs": 100},
    {"status": "ok", "userId": UID, "secureKey": KEY},
    {"status": "error", "error": {"code": 1001, "name": "MALFORMED_FRAME", "message": "x"}},
    {"chatEnded": False, "statusCode": 0, "alias": "117", "userId": UID, "chatId": SID, "nextPosition": 2,
     "messages": [{"from": {"nickname": "Pat", "participantId": 1, "type": "Client"}, "index": 1,
                   "type": "ParticipantJoined", "utcTime": 1700000000000}]},
]

desktop = [
    {"type": "hello", "token": "nope"},
    {"type": "ready", "requestId": 1},
    {"type": "notReady", "reason": "lunch"},
    {"type": "accept", "interactionId": SID},
    {"type": "reject", "interactionId": SID},
    {"type": "transfer", "interactionId": SID, "toAgent": "bob"},
    {"type": "transfer", "interactionId": SID, "toQueue": "sales"},
    {"type": "conference", "interactionId": SID, "invitee": "anna"},
    {"type": "supervise", "interactionId": SID, "mode": "coach"},
    {"type": "markDone", "interactionId": SID},
    {"type": "watch"},
    {"type": "logout"},
]

auth = {"userId": UID, "secureKey": KEY, "sessionId": SID}
flex = [
    ("login", {"nickname": "Pat", "emailAddress": "c@example.com"}),
    ("login", {"firstName": "Pat", "lastName": "Lee", "clientVersion": 106}),
    ("join", {"userId": UID, "secureKey": KEY, "subject": "Order 42", "userData": {"IdentifierHash": "00"}}),
    ("join", {**auth, "transcriptPosition": 3}),
    ("send", {**auth, "text": "where is my order?", "clientMessageId": "f1", "transcriptPosition": 1}),
    ("send", {"userId": UID, "secureKey": "k", "sessionId": "NoSuchSession12", "text": "x"}),
    ("notify", {**auth, "noticeType": "TYPING_STARTED", "text": "wh"}),
    ("refresh", {**auth, "transcriptPosition": 1, "waitMs": 1000}),
    ("logout", auth),
    ("file", {**auth, "fileId": "1"}),
]

gms = [
    urlencoded([("nickname", "Pat"), ("subject", "Lost card"), ("emailAddress", "pat@example.com"),
                ("userData[TimeZone]", "-480"), ("userData[Product]", "Cards")]),
    urlencoded([("firstName", "Pat"), ("lastName", "Lee"), ("text", "Hello, I need help")]),
    urlencoded([("userId", UID), ("secureKey", KEY), ("alias", "117"), ("message", "hi"), ("transcriptPosition", "2")]),
    urlencoded([("userId", UID), ("secureKey", KEY), ("pushUrl", "https://shop.example/")]),
    "application/x-www-form-urlencoded\nuserData[]=x&transcriptPosition=abc",
    multipart([("nickname", "Pat"), ("userData[Product]", "Cards")]),
    multipart([("userId", UID)], [("file", "a.txt", "text/plain", "x")]),
]

upload = [
    multipart([("userId", UID), ("secureKey", KEY), ("chatId", SID)], [("file", "report.pdf", "application/pdf", "%PDF-1.4")]),
    multipart([("userId", UID), ("secureKey", KEY), ("userData[file-description]", "receipt")], [("file", "C:\\Users\\pat\\photo.png", "image/png", "PNG")]),
    multipart([("userId", UID)], [("file", "dir/", "text/plain", "x")]),
    multipart([("userId", UID)], [("file", "evil\"; x=\"y/../u.pdf", "text/html\r\nX: y", "x")]),
    multipart([("userId", UID)]),
]

esp = [
    ("Message", "application/json", {"interactionId": SID, "parameters": {"MessageText": "hi", "Nickname": "Bot", "Visibility": "INT", "ClientMessageId": "w-1"}}),
    ("Message", "application/json", {"interactionId": SID, "parameters": {"MessageText": "x", "Visibility": "PUBLIC"}}),
    ("Notice", "application/json", {"interactionId": SID, "parameters": {"NoticeType": "USER_PUSHED_URL", "NoticeText": "https://shop.example/help"}}),
    ("Notice", "application/json", {"interactionId": SID, "parameters": {"NoticeType": "USER_PUSHED_URL", "NoticeText": "javascript:alert(1)"}}),
    ("IdleControlConfigure", "application/json", {"interactionId": SID, "parameters": {"timeout-alert": 30, "enabled": True, "include-notices": "major", "message-alert": ""}}),
    ("IdleControlConfigure", "application/json", {"interactionId": SID, "parameters": {"reset-parameters": "true", "timeout-close": "ten"}}),
    ("ConfigureSession", "application/json; charset=utf-8", {"interactionId": SID, "parameters": {"GCTI_LanguageCode": "fr"}}),
]

admin = [
    ("agent zoe", {"role": "supervisor", "capacity": 1}),
    ("agent ada", {"password": "ada's password", "nickname": "Ada", "queues": ["default"]}),
    ("agent kim", {"passwordHash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}),
    ("agent sam", {"capacity": 500, "role": "boss"}),
    ("erase C0001AbCdEf1234", {"reference": "TICKET-42"}),
    ("interactions tenant=1&state=closed&since=1700000000000&limit=10", None),
    ("contacts q=pat%40example.com&limit=5", None),
]

identity = [
    ("1700000000000", "1", {"Identifier": "user-42", "IdentifierHash": "sign"}),
    ("1700000000000", "1", {"Identifier": "user-42", "IdentifierHash": "00ff"}),
    ("1700000000000", "1", {"IdentityToken": 'sign:{"sub":"user-42","exp":1700000600}'}),
    ("1700000000000", "2", {"IdentityToken": 'sign:{"sub":"user-42","exp":1800000000,"nbf":1}'}),
    ("1700000000000", "2", {"Identifier": "user-42", "ParleyIdentityVerified": "true"}),
    ("0", "3", {}),
]

cluster = [
    "v1;from=aaaa;to=bbbb;t=1700000000000;n=0707070707070707070707070707070707;c=10.0.0.1:5555;mac=00\n"
    "POST\n/genesys/2/chat/s/c1/send/?x=1\n1700000000000 1700000000000\nmessage=hi",
    "v1;from=x\nGET\n/\n-9223372036854775808 1700000000000\n",
    "\n\n\n9223372036854775807 -1\n",
    j({"type": "route", "input": {"type": "agentReady", "agent": "pat"}}),
]

headers = [
    "10.0.0.7\nForwarded: for=192.0.2.1;proto=https, for=\"[2001:db8::1]:4711\"",
    "10.0.0.7\nX-Forwarded-For: 203.0.113.9, 10.0.0.3",
    "::1\nX-Forwarded-For: unknown, ::ffff:192.0.2.1",
    "192.0.2.50\nOrigin: https://evil.example\nHost: chat.example",
    "192.0.2.50\nOrigin: https://chat.example\nHost: chat.example\nRetry-After: 120",
]


def write(target, content):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


for f in basic:
    write("basic_frame", j(f))
for f in basic + server_frames:
    write("proto_json", j(f))
for f in desktop:
    write("desktop_frame", j(f))
for op, body in flex:
    write("flex_request", f"{op}\n{j(body)}")
for g in gms:
    write("gms_form", g)
for u in upload:
    write("upload", u)
for method, ctype, body in esp:
    write("esp_request", f"{method}\n{ctype}\n{j(body)}")
write("esp_request", f"Message\napplication/x-www-form-urlencoded\ninteractionId={SID}&MessageText=hello+there&Visibility=INT")
for route, body in admin:
    write("admin_body", route + "\n" + ("" if body is None else j(body)))
for now, tenant, data in identity:
    write("identity", f"{now}\n{tenant}\n{j(data)}")
for c in cluster:
    write("cluster", c)
for h in headers:
    write("http_headers", h)
configs = sorted(glob.glob(os.path.join(ROOT, "crates/server/tests/config/*/*.toml")))
for path in configs:
    with open(path, "rb") as f:
        write("config", f.read())
# The example file without its comments (45 KB of them would slow every run of it ten
# times over, and the comments are all alike to the parser).
with open(os.path.join(ROOT, "config/parley.example.toml")) as f:
    lines = [l for l in f if not l.lstrip().startswith("#") and l.strip()]
write("config", "".join(lines))
write("config", b'[settings]\nmax-message-size = 1000\n\0PARLEY_SETTINGS__MAX_FRAME_SIZE=2048\nPARLEY_SETTINGS__TRANSCRIPT_AUTOSAVE=x\nPARLEY_SETINGS__X=1\n')
