#!/usr/bin/env python3
"""A foreign client for carpd's XML-RPC endpoint, written with Python's standard
library only (xmlrpc.client, http.client, ssl), run inside a rig namespace.
Every command prints one JSON object.

  call   HOST PORT CAFILE USER PASSWORD METHOD [PARAMS_JSON]   xmlrpc.client.ServerProxy over HTTPS
  raw    HOST PORT CAFILE USER PASSWORD [--method M] [--path P] [--type T]   POST stdin as the body
  plain  HOST PORT                                             plain HTTP to the HTTPS port
  tcp    HOST PORT                                             does anything accept a connection?

The certificate is pinned the way a careful client pins a self-signed one:
the CA file is that exact certificate, and the host name (an IP) must be in it.
"""
import http.client
import json
import socket
import ssl
import sys
import urllib.parse
import xmlrpc.client


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


def to_json(v):
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, (xmlrpc.client.DateTime,)):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return list(v)
    return v


def call(host, port, cafile, user, password, method, params='[]'):
    cred = '' if user == '-' else f'{urllib.parse.quote(user)}:{urllib.parse.quote(password)}@'
    proxy = xmlrpc.client.ServerProxy(f'https://{cred}{host}:{port}/RPC2', context=context(cafile))
    try:
        value = getattr(proxy, method)(*json.loads(params))
        return {'ok': True, 'value': to_json(value)}
    except xmlrpc.client.Fault as f:
        return {'fault': f.faultCode, 'message': f.faultString}
    except xmlrpc.client.ProtocolError as e:
        return {'http': e.errcode, 'message': e.errmsg, 'retryAfter': e.headers.get('Retry-After')}
    except Exception as e:  # noqa: BLE001 - the test wants to see what happened
        return {'error': f'{type(e).__name__}: {e}'}


def raw(host, port, cafile, user, password, method='POST', path='/RPC2', ctype='text/xml'):
    body = sys.stdin.buffer.read()
    conn = http.client.HTTPSConnection(host, int(port), context=context(cafile), timeout=60)
    headers = {'Content-Type': ctype}
    if user != '-':
        import base64
        headers['Authorization'] = 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()
    try:
        conn.request(method, path, body=body if method == 'POST' else None, headers=headers)
        res = conn.getresponse()
        data = res.read()
    except Exception as e:  # noqa: BLE001
        return {'error': f'{type(e).__name__}: {e}'}
    out = {'status': res.status, 'body': data[:300].decode('utf-8', 'replace')}
    if res.status == 200:
        try:
            xmlrpc.client.loads(data)
            out['fault'] = None
        except xmlrpc.client.Fault as f:
            out['fault'] = f.faultCode
            out['message'] = f.faultString
    return out


def plain(host, port):
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request('POST', '/RPC2', body=b'<methodCall><methodName>system.listMethods</methodName></methodCall>', headers={'Content-Type': 'text/xml'})
        res = conn.getresponse()
        return {'status': res.status, 'body': res.read()[:200].decode('utf-8', 'replace')}
    except Exception as e:  # noqa: BLE001
        return {'error': f'{type(e).__name__}: {e}'}


def tcp(host, port):
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return {'connected': True}
    except Exception as e:  # noqa: BLE001
        return {'connected': False, 'error': f'{type(e).__name__}: {e}'}


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == 'call':
        out = call(*args)
    elif cmd == 'raw':
        pos = [a for a in args if not a.startswith('--')]
        opts = dict(a[2:].split('=', 1) for a in args if a.startswith('--'))
        out = raw(*pos, method=opts.get('method', 'POST'), path=opts.get('path', '/RPC2'), ctype=opts.get('type', 'text/xml'))
    elif cmd == 'plain':
        out = plain(*args)
    elif cmd == 'tcp':
        out = tcp(*args)
    else:
        raise SystemExit(f'unknown command {cmd}')
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1:])
