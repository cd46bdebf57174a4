"""The public verification page (issue 10, build 6; DESIGN §8): anyone, without signing in, checks a printed or
downloaded record book on the platform's site — by its QR link (``/xac-minh/<token>/``) or by uploading the PDF
(``/xac-minh/``) — and learns whether it is valid, altered, superseded by a later version or unknown, who signed it
(initials) and when, the school and the year, and whether the file is the archived copy. Nothing else about the
student is shown.

It lives in ``reporting`` (the signing and validation code) but serves the public side: it reads only the public
index (``tenants.selectors.verification``), never a school's schema, and is routed from ``hocba.urls_public``.

* :mod:`.links` — the QR link's shape (``verification_url``), shared by the renderer's callers and the URL conf;
* :mod:`.roots` — the trust roots (the province roots of the settings);
* :mod:`.limits` — the per-address rate limit in Redis;
* :mod:`.checks` — the page's verdict from the validation and the index;
* :mod:`.views`, :mod:`.urls` — the two pages.
"""
