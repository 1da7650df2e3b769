"""Local stand-ins for the servers Bevakning talks to (SMTP, EWS, Graph), for tests.

Each one is a real server on 127.0.0.1 with an ephemeral port, so the real client code
(smtplib, exchangelib, msal and requests) runs unchanged against it.
"""
