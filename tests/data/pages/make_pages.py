# ruff: noqa: E501  (the templates are HTML, whose lines are as long as the markup they copy)
"""Make the test web pages of tests/data/pages/ and their gold files.

    python tests/data/pages/make_pages.py [--source ../shared/data/qa/squad1/test_stories.jsonl]

Each page wraps the first paragraphs of a Wikipedia article (CC BY-SA 4.0, see README.md) in
the markup a news site's CMS puts around a story: navigation menus, a cookie banner, share
bars, ad slots, "related stories" boxes, comment sections, newsletter boxes, a footer, and
the metadata (JSON-LD, OpenGraph, microdata, <title>, canonical link). The templates differ
the way CMSs do: <article> with <p>, <div> soup, paragraphs split by <br><br>, a pull quote,
a drop cap, figure captions, an inline "Read more:" line, a live blog, paragraphs as <div>s,
a page hydrated from a JSON blob, source text wrapped with entities. One page is a section
front with no article at all.

Each `NAME.html` gets `NAME.gold.txt`, what a reader would call the story: front matter with
the expected title, date, author and source, then the article's paragraphs, one per line.
Bylines, dates, headlines, sites and the text around the articles are made up here.
Only the standard library is needed; the output is deterministic.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[3] / "shared" / "data" / "qa" / "squad1" / "test_stories.jsonl"


@dataclass(frozen=True)
class Page:
    name: str
    story: str
    count: int  # how many of the article's first paragraphs the page carries
    headline: str
    author: str
    published: str  # ISO 8601 with time and zone, as CMSs write it
    url: str
    site: str
    template: Callable[[Page, list[str]], str]

    @property
    def date(self) -> str:
        return self.published[:10]


def e(text: str) -> str:
    return escape(text, quote=True)


def json_ld(data: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False, indent=1)}</script>'


def news_article_ld(page: Page, kind: str = "NewsArticle", authors: list[str] | None = None) -> str:
    return json_ld(
        {
            "@context": "https://schema.org",
            "@type": kind,
            "headline": page.headline,
            "datePublished": page.published,
            "dateModified": page.published,
            "author": [{"@type": "Person", "name": name} for name in (authors or [page.author])],
            "publisher": {"@type": "Organization", "name": page.site},
            "mainEntityOfPage": page.url,
            "image": page.url.rsplit("/", 1)[0] + "/lead.jpg",
        }
    )


def open_graph(page: Page) -> str:
    return f"""
<meta property="og:type" content="article">
<meta property="og:title" content="{e(page.headline)}">
<meta property="og:url" content="{e(page.url)}">
<meta property="og:site_name" content="{e(page.site)}">
<meta property="og:description" content="A short summary written for social media cards.">
<meta property="article:published_time" content="{e(page.published)}">
<meta name="twitter:card" content="summary_large_image">"""


def head(page: Page, extra: str = "", *, ld: str | None = None) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(page.headline)} | {e(page.site)}</title>
<link rel="canonical" href="{e(page.url)}">
<link rel="stylesheet" href="/static/css/main.3f9a1c.css">
{open_graph(page)}
{extra}
{news_article_ld(page) if ld is None else ld}
<script async src="https://ads.example.net/tag.js"></script>
</head>"""


SECTIONS = ["News", "World", "Business", "Science", "Culture", "Sport", "Opinion", "Travel"]


def nav_menu(site: str) -> str:
    items = "".join(f'<li class="menu-item"><a href="/{s.lower()}/">{s}</a></li>' for s in SECTIONS)
    return f"""
<header class="site-header">
  <a class="skip-link" href="#main">Skip to content</a>
  <div class="masthead"><a href="/" class="logo">{e(site)}</a>
    <form class="search" action="/search"><input name="q" placeholder="Search"><button>Search</button></form>
    <a class="subscribe" href="/subscribe">Subscribe from £1 a week</a> <a href="/login">Sign in</a></div>
  <nav class="primary-nav" aria-label="Sections"><ul class="menu">{items}</ul></nav>
  <nav class="sub-nav"><ul><li><a href="/science/space/">Space</a></li><li><a href="/science/energy/">Energy</a></li>
  <li><a href="/science/history/">History of science</a></li></ul></nav>
</header>"""


def cookie_banner() -> str:
    return """
<div id="cookie-consent" class="cookie-banner" role="dialog" aria-label="Cookie consent">
  <p>We use cookies and similar technologies to give you a better experience, to measure how our
  site is used and to show you personalised advertising. You can accept all cookies or manage
  your preferences at any time in our privacy settings.</p>
  <button class="accept">Accept all</button> <button class="manage">Manage preferences</button>
</div>"""


def share_bar(count: str = "") -> str:
    return f"""
<div class="share-bar" aria-label="Share this article">
  <span class="share-count">{count}</span>
  <a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php">Share on Facebook</a>
  <a class="share-twitter" href="https://twitter.com/intent/tweet">Share on X</a>
  <a class="share-email" href="mailto:?subject=Article">Email</a>
  <button class="copy-link">Copy link</button>
</div>"""


def ad_slot(number: int) -> str:
    return f"""
<div class="ad-slot ad-slot--inline" id="ad-inline-{number}" data-ad-unit="/1234/article/inline{number}">
  <span class="ad-label">Advertisement</span>
</div>"""


def related_links(title: str = "Related stories") -> str:
    return f"""
<aside class="related-stories">
  <h3>{title}</h3>
  <ul>
    <li><a href="/science/2017/03/bridges-that-changed-engineering">The bridges that changed engineering forever</a></li>
    <li><a href="/culture/2017/02/museum-reopens">City museum reopens its east wing after a decade</a></li>
    <li><a href="/news/2017/01/archive-digitised">Five centuries of parish records now online</a></li>
  </ul>
</aside>"""


def site_footer(site: str) -> str:
    return f"""
<footer class="site-footer">
  <ul class="footer-links"><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
  <li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li>
  <li><a href="/cookies">Cookie settings</a></li><li><a href="/jobs">Work for us</a></li></ul>
  <p class="copyright">© 2017 {e(site)} Ltd. All rights reserved. Registered in England and Wales.</p>
</footer>"""


def most_read() -> str:
    return """
<section class="most-read"><h2>Most read</h2><ol>
  <li><a href="/news/1"><span class="rank">1</span> Council approves the new bus lanes after a six-hour debate</a></li>
  <li><a href="/news/2"><span class="rank">2</span> The quiet village that became a film set overnight</a></li>
  <li><a href="/news/3"><span class="rank">3</span> Ten walks to take before the end of the summer</a></li>
  <li><a href="/news/4"><span class="rank">4</span> Why the price of coffee is about to rise again</a></li>
</ol></section>"""


def paragraphs_html(paragraphs: list[str], attrs: str = "") -> list[str]:
    return [f"<p{attrs}>{e(p)}</p>" for p in paragraphs]


# -- the templates: one per CMS style ------------------------------------------------------------


def wordpress(page: Page, paragraphs: list[str]) -> str:
    """A WordPress blog post: entry-content, Jetpack share and related posts, a comment list."""
    body = "\n".join(paragraphs_html(paragraphs))
    comments = "".join(
        f"""<li class="comment" id="comment-{i}"><article class="comment-body"><footer class="comment-meta">
<b class="fn">{name}</b> <time datetime="2017-03-1{i}">March 1{i}, 2017 at {i + 8}:15 am</time></footer>
<div class="comment-content"><p>{e(text)}</p></div><a class="comment-reply-link" href="#">Reply</a></article></li>"""
        for i, (name, text) in enumerate(
            [
                (
                    "historybuff77",
                    "Great read. I visited Bayeux last summer and the tapestry is even more impressive in "
                    "person than the photos suggest. The guides there tell the whole story of the conquest.",
                ),
                (
                    "Margaret T.",
                    "Does anyone know a good book on the Norman kingdom in Sicily? I have only found older "
                    "titles and would love something more recent that covers the architecture too.",
                ),
                (
                    "Pierre",
                    "My family comes from a small village near Rouen and we still have old Norman words in "
                    "our dialect. It is fascinating to see where they came from.",
                ),
            ],
            start=1,
        )
    )
    return f"""{head(page)}
<body class="post-template-default single single-post">
{cookie_banner()}
{nav_menu(page.site)}
<div id="page" class="site"><div id="content" class="site-content">
<main id="main" class="site-main">
<article id="post-2417" class="post-2417 post type-post status-publish hentry category-history">
  <header class="entry-header">
    <span class="cat-links"><a href="/category/history/" rel="category tag">History</a></span>
    <h1 class="entry-title">{e(page.headline)}</h1>
    <div class="entry-meta"><span class="byline">By <span class="author vcard"><a class="url fn n" rel="author"
      href="/author/claire-dubois/">{e(page.author)}</a></span></span>
      <span class="posted-on"><time class="entry-date published" datetime="{page.published}">March 14, 2017</time></span>
      <span class="comments-link"><a href="#comments">3 Comments</a></span></div>
  </header>
  <div class="entry-content">
{body}
  <div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social"><h3 class="sd-title">Share this:</h3>
    <ul><li><a class="share-twitter" href="#">Twitter</a></li><li><a class="share-facebook" href="#">Facebook</a></li>
    <li><a class="share-print" href="#">Print</a></li></ul></div></div>
  <div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline"><em>Related</em></h3>
    <div class="jp-relatedposts-post"><h4><a href="/2016/11/vikings-in-the-seine/">Vikings on the Seine</a></h4>
    <p class="jp-relatedposts-post-excerpt">How the raiders of the ninth century sailed inland and besieged Paris.</p></div>
    <div class="jp-relatedposts-post"><h4><a href="/2016/08/castles/">The first stone castles</a></h4>
    <p class="jp-relatedposts-post-excerpt">A short history of the keep, from timber mottes to square towers.</p></div></div>
  </div>
  <footer class="entry-footer"><span class="tags-links">Tagged <a href="/tag/normandy/">Normandy</a>,
    <a href="/tag/middle-ages/">Middle Ages</a></span></footer>
</article>
<nav class="navigation post-navigation"><h2 class="screen-reader-text">Post navigation</h2>
  <div class="nav-previous"><a href="/2017/03/the-bayeux-tapestry/" rel="prev">Previous post: The Bayeux Tapestry, stitch by stitch</a></div>
  <div class="nav-next"><a href="/2017/03/rollo/" rel="next">Next post: Rollo, the first duke</a></div></nav>
<div id="comments" class="comments-area">
  <h2 class="comments-title">3 thoughts on &ldquo;{e(page.headline)}&rdquo;</h2>
  <ol class="comment-list">{comments}</ol>
  <div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">Leave a Reply</h3>
  <form id="commentform" class="comment-form"><p class="comment-notes">Your email address will not be published.
  Required fields are marked *</p><textarea id="comment" name="comment"></textarea><input type="submit" value="Post Comment"></form></div>
</div>
</main>
<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries"><h2 class="widget-title">Recent Posts</h2>
<ul><li><a href="/2017/03/rollo/">Rollo, the first duke</a></li><li><a href="/2017/02/hastings/">What happened at Hastings</a></li></ul></section>
<section class="widget widget_text"><h2 class="widget-title">About this blog</h2><div class="textwidget"><p>Notes on medieval
history from a retired teacher in Caen. New posts every other Tuesday.</p></div></section></aside>
</div></div>
{site_footer(page.site)}
</body></html>
"""


def div_soup(page: Page, paragraphs: list[str]) -> str:
    """A broadcaster's story page: nested divs, ad slots between paragraphs, a captioned figure,
    an inline "Read more:" line, "Related topics" and "Top stories" lists."""
    parts = [f'<p class="story-body__introduction">{e(paragraphs[0])}</p>']
    for number, paragraph in enumerate(paragraphs[1:], start=1):
        parts.append(f"<p>{e(paragraph)}</p>")
        if number == 2:
            parts.append(
                """<figure class="media-landscape full-width"><span class="image-and-copyright-container">
<img src="/images/tesla-lab.jpg" alt="Tesla in his laboratory" width="976" height="549">
<span class="off-screen">Image copyright</span><span class="story-image-copyright">Getty Images</span></span>
<figcaption class="media-caption"><span class="off-screen">Image caption</span>
<span class="media-caption__text">Tesla in his Colorado Springs laboratory, photographed with a long exposure in 1899</span></figcaption></figure>"""
            )
        if number == 3:
            parts.append(
                '<p class="read-more"><strong>Read more:</strong> '
                '<a href="/news/science-39012345">The race to electrify New York</a></p>'
            )
        if number in (4, 7):
            parts.append(ad_slot(number))
    body = "\n".join(parts)
    return f"""{head(page)}
<body>
<div id="orb-banner" role="banner"><div class="orb-nav"><a href="/">Home</a> <a href="/news">News</a>
<a href="/sport">Sport</a> <a href="/weather">Weather</a> <a href="/iplayer">Radio</a> <a href="/more">More</a></div></div>
{nav_menu(page.site)}
<div class="container"><div class="container--primary-and-secondary-columns column-clearfix">
<div class="column--primary"><div class="story-body">
  <h1 class="story-body__h1">{e(page.headline)}</h1>
  <div class="byline"><span class="byline__name">By {e(page.author)}</span><span class="byline__title">Science reporter</span></div>
  <ul class="mini-info-list"><li class="mini-info-list__item"><div class="date" data-seconds="1489483800">14 March 2017</div></li>
  <li class="mini-info-list__item"><span class="mini-info-list__section">Science &amp; Environment</span></li></ul>
  {share_bar()}
  <div class="story-body__inner" property="articleBody">
{body}
  </div>
  <div class="tags-container"><h2 class="tags-title">Related Topics</h2><ul class="tags-list">
  <li class="tags-list__tags"><a href="/topics/inventors">Inventors</a></li>
  <li class="tags-list__tags"><a href="/topics/electricity">Electricity</a></li></ul></div>
</div></div>
<div class="column--secondary"><div class="top-stories"><h2>Top Stories</h2>
  <div class="top-story"><a href="/news/1"><h3>Storm warning issued for the east coast</h3></a>
  <p class="top-story__summary">Forecasters expect gusts of up to 80mph overnight.</p></div>
  <div class="top-story"><a href="/news/2"><h3>Rail fares to rise by 3.4% in January</h3></a>
  <p class="top-story__summary">Passenger groups say the increase is the largest in five years.</p></div></div>
  <div class="features"><h2>Features</h2><ul><li><a href="/f/1">The last lamplighters of London</a></li>
  <li><a href="/f/2">What makes a perfect cup of tea?</a></li></ul></div>
</div></div></div>
{site_footer(page.site)}
</body></html>
"""


def br_paragraphs(page: Page, paragraphs: list[str]) -> str:
    """An old CMS: a layout table, the story as text split by <br><br>, metadata in <meta> tags
    and OpenGraph only (no JSON-LD)."""
    body = "<br><br>\n".join(e(p) for p in paragraphs)
    extra = f"""<meta name="author" content="{e(page.author)}">
<meta name="description" content="An explainer on complexity classes.">
<meta name="date" content="{page.date}">"""
    return f"""{head(page, extra, ld="")}
<body bgcolor="#ffffff">
<table width="100%" cellpadding="0" cellspacing="0" class="topnav"><tr>
<td><a href="/"><img src="/img/logo.gif" alt="{e(page.site)}"></a></td>
<td><a href="/news.html">News</a> | <a href="/features.html">Features</a> | <a href="/letters.html">Letters</a> |
<a href="/archive.html">Archive</a> | <a href="/contact.html">Contact</a></td></tr></table>
<table width="760" align="center"><tr>
<td width="160" valign="top" class="leftnav"><b>Sections</b><br><a href="/computing.html">Computing</a><br>
<a href="/maths.html">Mathematics</a><br><a href="/physics.html">Physics</a><br><br>
<b>Advertisement</b><br><a href="https://ads.example.net/click?id=77"><img src="/ads/banner.gif" alt="Learn to code in 30 days"></a></td>
<td valign="top" class="content">
<h1 class="headline">{e(page.headline)}</h1>
<p class="byline">by {e(page.author)} &middot; {page.date}</p>
<div id="bodytext">
{body}
</div>
<p class="tools"><a href="/print/complexity.html">Printer-friendly version</a> | <a href="/email/complexity.html">E-mail this story</a></p>
</td></tr></table>
<div class="footer"><p>Copyright &copy; 1998-2016 {e(page.site)}. Reproduction without permission is prohibited.</p>
<p><a href="/privacy.html">Privacy</a> | <a href="/advertise.html">Advertise with us</a></p></div>
</body></html>
"""


def pull_quote(page: Page, paragraphs: list[str]) -> str:
    """A magazine feature: a drop cap, a pull quote repeating a sentence, a newsletter sign-up box."""
    first = paragraphs[0]
    parts = [f'<p class="has-dropcap"><span class="dropcap">{e(first[0])}</span>{e(first[1:])}</p>']
    quoted = paragraphs[2].split(". ")[0] + "."
    for number, paragraph in enumerate(paragraphs[1:], start=1):
        parts.append(f"<p>{e(paragraph)}</p>")
        if number == 1:
            parts.append(
                f'<aside class="pullquote" role="presentation"><blockquote><p>“{e(quoted)}”</p></blockquote></aside>'
            )
        if number == 3:
            parts.append(
                """<div class="newsletter-signup"><h3>Get the History Weekly briefing</h3>
<p>Sign up for our free newsletter and get the best of our history writing delivered to your inbox every Friday.</p>
<form action="/newsletter"><input type="email" placeholder="Your email address"><button>Sign up</button></form>
<p class="small">By signing up you agree to our privacy policy. You can unsubscribe at any time.</p></div>"""
            )
    body = "\n".join(parts)
    return f"""{head(page)}
<body class="article-page">
{nav_menu(page.site)}
<main id="main">
<article class="feature">
  <header class="feature__header"><p class="kicker"><a href="/history/">History</a></p>
  <h1 class="feature__title">{e(page.headline)}</h1>
  <p class="feature__meta">By <a href="/by/jonas-weber" rel="author">{e(page.author)}</a> ·
  <time datetime="{page.published}">Tuesday 31 October 2017</time> · 9 min read</p></header>
  {share_bar("2.4k shares")}
  <div class="feature__body">
{body}
  </div>
  <ul class="tags"><li><a href="/t/reformation">Reformation</a></li><li><a href="/t/germany">Germany</a></li></ul>
</article>
{related_links("More from History")}
</main>
{site_footer(page.site)}
{cookie_banner()}
</body></html>
"""


def live_blog(page: Page, paragraphs: list[str]) -> str:
    """A live blog: timestamped entries, each with its own share links, and a key-events list."""
    times = ["16:58", "16:31", "16:05", "15:47", "15:20", "14:52", "14:30", "14:02", "13:41", "13:15"]
    entries = []
    for number, (paragraph, time) in enumerate(zip(paragraphs, times)):
        entries.append(
            f"""<article class="block" id="block-{number}" data-block-id="{number}">
  <header class="block-time"><time datetime="{page.date}T{time}:00-08:00">{time}</time></header>
  <div class="block-elements"><p>{e(paragraph)}</p></div>
  <footer class="block-share"><a href="#block-{number}">Share this update</a> <a href="https://twitter.com/intent/tweet">Tweet</a></footer>
</article>"""
        )
    key_events = "".join(
        f'<li><a href="#block-{i}"><time>{times[i]}</time> Update {i + 1}</a></li>' for i in range(0, len(entries), 2)
    )
    ld = news_article_ld(page, kind="LiveBlogPosting")
    body = "\n".join(entries)
    return f"""{head(page, ld=ld)}
<body>
{cookie_banner()}
{nav_menu(page.site)}
<main>
<div class="live-header"><span class="live-badge">LIVE</span><h1>{e(page.headline)}</h1>
<p class="live-byline">{e(page.author)} in Los Angeles · Updated <time>{times[0]}</time></p></div>
<div class="live-layout">
<aside class="key-events"><h2>Key events</h2><ul>{key_events}</ul>
<a class="show-all" href="#">Show key events only</a></aside>
<div class="live-blog" id="liveblog-body">
{body}
<button class="load-more">Load earlier updates</button>
</div></div>
</main>
{site_footer(page.site)}
</body></html>
"""


def figure_related(page: Page, paragraphs: list[str]) -> str:
    """A <section>-based body with a share bar on top, a captioned photo, a related-stories box
    in the middle, and a long cookie dialog at the end of the body."""
    parts = []
    for number, paragraph in enumerate(paragraphs):
        parts.append(f'<p class="article-paragraph">{e(paragraph)}</p>')
        if number == 0:
            parts.append(
                """<figure class="article-figure"><picture><source srcset="/img/huguenot-church.webp" type="image/webp">
<img src="/img/huguenot-church.jpg" alt="The French Church"></picture>
<figcaption>The French Protestant Church in Soho Square, London, founded by Huguenot refugees.
<span class="credit">Photograph: Alamy</span></figcaption></figure>"""
            )
        if number == 2:
            parts.append(related_links())
    body = "\n".join(parts)
    return f"""{head(page)}
<body>
{nav_menu(page.site)}
<div class="page-wrapper">
<section class="article-header"><div class="breadcrumbs"><a href="/">Home</a> › <a href="/world/">World</a> › <a href="/world/europe/">Europe</a></div>
<h1 class="article-title">{e(page.headline)}</h1>
<div class="article-meta"><span class="author-name">{e(page.author)}</span>, <span class="author-role">Europe correspondent</span>
<span class="pub-date">Published {page.date}</span></div></section>
{share_bar()}
<section class="article-body" data-component="article-body">
{body}
</section>
<section class="article-footer"><p class="corrections"><a href="/corrections">Report an error</a> · <a href="/standards">Our editorial standards</a></p></section>
{most_read()}
</div>
{site_footer(page.site)}
<div class="consent-overlay" role="dialog" aria-modal="true" aria-labelledby="consent-title">
  <h2 id="consent-title">Your privacy matters to us</h2>
  <p>We and our 214 partners store and access information on your device, such as cookies, and process personal
  data, such as unique identifiers and browsing data, to personalise ads and content, to measure ads and content,
  and to develop and improve our products.</p>
  <p>With your permission we and our partners may use precise geolocation data and identification through device
  scanning. You may click to consent to our and our partners' processing as described above.</p>
  <button>I accept</button> <button>Show purposes</button>
</div>
</body></html>
"""


def microdata(page: Page, paragraphs: list[str]) -> str:
    """An AMP-style page: schema.org microdata instead of JSON-LD, amp-img and amp-ad elements,
    and a "Most read" list."""
    parts = []
    for number, paragraph in enumerate(paragraphs):
        parts.append(f"<p>{e(paragraph)}</p>")
        if number == 1:
            parts.append(
                '<amp-ad width="300" height="250" type="doubleclick" data-slot="/1234/law/amp">'
                "<div placeholder>Advertisement</div></amp-ad>"
            )
    body = "\n".join(parts)
    extra = f"""<meta name="author" content="{e(page.author)}">
<script async src="https://cdn.ampproject.org/v0.js"></script>"""
    return f"""{head(page, extra, ld="")}
<body>
<amp-sidebar id="sidebar" layout="nodisplay"><ul>{"".join(f"<li><a href='/{s.lower()}'>{s}</a></li>" for s in SECTIONS)}</ul></amp-sidebar>
<header class="amp-header"><button on="tap:sidebar.toggle">Menu</button><a href="/">{e(page.site)}</a></header>
<main>
<div itemscope itemtype="https://schema.org/NewsArticle" class="amp-article">
  <meta itemprop="mainEntityOfPage" content="{e(page.url)}">
  <h1 itemprop="headline">{e(page.headline)}</h1>
  <div class="amp-byline">By <span itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">{e(page.author)}</span></span>
  · <time itemprop="datePublished" datetime="{page.published}">{page.date}</time></div>
  <amp-img src="/img/court.jpg" width="1200" height="675" layout="responsive" alt="The Court of Justice"></amp-img>
  <div itemprop="articleBody" class="amp-body">
{body}
  </div>
</div>
{most_read()}
</main>
{site_footer(page.site)}
</body></html>
"""


def newsletter_video(page: Page, paragraphs: list[str]) -> str:
    """A trade-press page: a video player with a transcript link, "Advertisement" slots, a
    newsletter box between paragraphs and a "More from" list after the story."""
    parts = []
    for number, paragraph in enumerate(paragraphs):
        parts.append(f"<p>{e(paragraph)}</p>")
        if number == 0:
            parts.append(
                """<div class="video-player" data-video-id="88231"><div class="video-poster"><img src="/v/88231.jpg" alt=""></div>
<p class="video-title">Watch: a time-lapse of a 40-storey tower going up in nine days <span class="duration">2:14</span></p></div>"""
            )
        if number in (1, 4):
            parts.append(ad_slot(number))
        if number == 3:
            parts.append(
                """<div class="inline-newsletter"><p><strong>Construction Weekly</strong> — the news that matters to the industry,
every Monday. <a href="/newsletters">Sign up now</a></p></div>"""
            )
    body = "\n".join(parts)
    more = "".join(
        f'<li><a href="/industry/{i}"><h4>{t}</h4></a></li>'
        for i, t in enumerate(
            [
                "Steel prices fall for a third month",
                "Apprentice numbers hit a ten-year high",
                "New rules for scaffolding",
            ]
        )
    )
    return f"""{head(page)}
<body>
{nav_menu(page.site)}
{cookie_banner()}
<main class="main-content">
<article class="article">
<div class="article__head"><h1>{e(page.headline)}</h1><div class="article__author">{e(page.author)}</div>
<div class="article__date">{page.date}</div></div>
{share_bar()}
<div class="article__body">
{body}
</div>
</article>
<section class="more-from"><h3>More from Industry</h3><ul>{more}</ul></section>
</main>
{site_footer(page.site)}
</body></html>
"""


def div_paragraphs(page: Page, paragraphs: list[str]) -> str:
    """A page builder that writes paragraphs as <div>s with inline links and emphasis, no <p>."""
    parts = []
    for paragraph in paragraphs:
        words = e(paragraph).split(" ")
        if len(words) > 12:  # an inline link and some emphasis inside the sentence, as editors add them
            words[3] = f'<a href="/topics/{len(words)}">{words[3]}'
            words[5] = f"{words[5]}</a>"
            words[9] = f"<em>{words[9]}</em>"
        parts.append(f'<div class="paragraph text-block">{" ".join(words)}</div>')
    body = "\n".join(parts)
    return f"""{head(page)}
<body>
{nav_menu(page.site)}
<div class="layout"><div class="layout__main">
<div class="headline-block"><h1 class="headline-block__title">{e(page.headline)}</h1></div>
<div class="author-block"><img class="avatar" src="/a/okafor.jpg" alt=""><div><div class="author-block__name">{e(page.author)}</div>
<div class="author-block__date">{page.date}</div></div></div>
<div class="content-blocks">
{body}
</div>
{share_bar()}
<div class="promo-block"><div class="promo-block__title">Campus Life newsletter</div>
<div class="promo-block__text">Everything happening around the university, in your inbox every week.</div>
<a class="promo-block__cta" href="/newsletter">Subscribe</a></div>
</div>
<div class="layout__side">{related_links("Trending")}</div></div>
{site_footer(page.site)}
</body></html>
"""


def comments_heavy(page: Page, paragraphs: list[str]) -> str:
    """An entertainment site: a share count, a "Most popular" sidebar and a long comment thread
    whose comments read like article paragraphs."""
    body = "\n".join(paragraphs_html(paragraphs))
    thread = [
        (
            "whovian_forever",
            "I started watching with the 2005 revival and went back to the classic serials afterwards. "
            "The pacing is very different but the best of the old stories hold up remarkably well today.",
        ),
        (
            "TARDIS_Tom",
            "The missing episodes are such a shame. Every few years a few more turn up in some archive "
            "abroad and it always makes the news. I hope the rest are found one day.",
        ),
        (
            "Jen Kowalski",
            "My favourite Doctor will always be the one I grew up with. Everyone says that, and everyone "
            "is right, because the show changes so much from one era to the next.",
        ),
        (
            "Dalek_Supreme",
            "Exterminate! But seriously, the article forgot to mention the spin-off audio dramas, which "
            "are some of the best writing the franchise has ever produced.",
        ),
    ]
    comments = "".join(
        f"""<div class="comment" id="c{i}"><div class="comment-header"><span class="comment-author">{name}</span>
<span class="comment-time">{i + 1} hours ago</span></div><div class="comment-body"><p>{e(text)}</p></div>
<div class="comment-actions"><button>Like ({10 * i + 3})</button><button>Reply</button><button>Report</button></div></div>"""
        for i, (name, text) in enumerate(thread)
    )
    popular = "".join(
        f'<li><a href="/tv/{i}"><img src="/t/{i}.jpg" alt=""><span>{t}</span></a></li>'
        for i, t in enumerate(
            [
                "Every regeneration, ranked from worst to best",
                "The set designers who built the TARDIS",
                "Behind the scenes of the Christmas special",
            ]
        )
    )
    return f"""{head(page)}
<body>
{cookie_banner()}
{nav_menu(page.site)}
<div class="main-wrap">
<article class="entry">
<h1 class="entry__title">{e(page.headline)}</h1>
<div class="entry__byline"><a href="/staff/sam-patel">{e(page.author)}</a> <span class="entry__date">{page.date}</span></div>
{share_bar("18.5k shares")}
<div class="entry__content">
{body}
</div>
</article>
<section id="comments" class="comments"><h2>Comments (214)</h2>
<div class="comment-form"><textarea placeholder="Join the discussion..."></textarea><button>Post</button></div>
<div class="comments-list">{comments}</div><button class="load-more-comments">Load more comments</button></section>
<aside class="sidebar"><div class="widget"><h3>Most popular</h3><ul>{popular}</ul></div>
{ad_slot(9)}</aside>
</div>
{site_footer(page.site)}
</body></html>
"""


def messy_source(page: Page, paragraphs: list[str]) -> str:
    """Hand-edited HTML: paragraphs hard-wrapped in the source with indentation, typographic
    entities, non-breaking spaces after full stops and a stray empty paragraph."""
    parts = []
    for number, paragraph in enumerate(paragraphs):
        escaped = e(paragraph).replace("&#x27;", "&#39;").replace(". ", ".&nbsp; ", 2)
        words = escaped.split(" ")
        lines = [" ".join(words[i : i + 11]) for i in range(0, len(words), 11)]
        wrapped = "\n        ".join(lines)
        parts.append(f"      <p>\n        {wrapped}\n      </p>")
        if number == 2:
            parts.append("      <p>&nbsp;</p>")
    body = "\n".join(parts)
    return f"""{head(page)}
<body>
  {nav_menu(page.site)}
  <div id="wrapper">
    <div id="main-column">
      <div class="post">
        <h1>{e(page.headline)}</h1>
        <div class="post-info">Posted by <span class="author">{e(page.author)}</span> on
          <span class="date">{page.date}</span></div>
        <div class="post-body">
{body}
        </div>
        <div class="post-footer">Filed under <a href="/c/asia">Asia</a> &amp; <a href="/c/history">History</a>
          &mdash; <a href="#comments">Leave a comment</a></div>
      </div>
    </div>
    <div id="sidebar">
      <div class="box"><h3>Archives</h3><ul><li><a href="/2016/12">December 2016</a></li><li><a href="/2016/11">November 2016</a></li></ul></div>
      <div class="box"><h3>Blogroll</h3><ul><li><a href="https://example.org/silk-road">Silk Road notes</a></li></ul></div>
    </div>
  </div>
  {site_footer(page.site)}
</body>
</html>
"""


def hydrated(page: Page, paragraphs: list[str]) -> str:
    """A page rendered by a JavaScript framework: text blocks in components, inline styles,
    <noscript> notices and the whole article again inside a JSON blob for hydration."""
    blocks = "\n".join(
        f'<div data-component="text-block" class="css-1x2y3z"><p class="css-83cqas e1xue1i83">{e(p)}</p></div>'
        for p in paragraphs
    )
    state = json.dumps(
        {"props": {"pageProps": {"article": {"headline": page.headline, "body": paragraphs[:2], "ads": True}}}},
        ensure_ascii=False,
    )
    return f"""{head(page)}
<body>
<noscript><div class="noscript-banner">For the best experience, please enable JavaScript in your browser.</div></noscript>
<div id="__next">
<style>.css-1x2y3z{{margin:0 auto;max-width:640px}}.css-83cqas{{font-size:18px;line-height:1.6}}</style>
{nav_menu(page.site)}
<main id="main-content" role="main">
<article class="css-article">
<div data-component="headline-block"><h1 class="css-headline">{e(page.headline)}</h1></div>
<div data-component="byline-block"><p class="css-byline">By <a href="/people/aiko-tanaka">{e(page.author)}</a></p>
<time datetime="{page.published}" class="css-date">{page.date}</time></div>
{share_bar()}
{blocks}
<div data-component="topic-list"><h2>Related topics</h2><ul><li><a href="/topics/universities">Universities</a></li>
<li><a href="/topics/chicago">Chicago</a></li></ul></div>
</article>
<div data-component="ad-block">{ad_slot(3)}</div>
</main>
{site_footer(page.site)}
</div>
<script id="__NEXT_DATA__" type="application/json">{state}</script>
<script src="/_next/static/chunks/main-9f1c2e.js" defer></script>
</body></html>
"""


def section_front(page: Page, paragraphs: list[str]) -> str:
    """A section front: headlines and one-line teasers, all links, and no article."""
    teasers = [
        ("Normans", "The people who gave Normandy its name."),
        ("The steam engine", "From Newcomen's pump to the turbine."),
        ("Doctor Who at 50", "Half a century of the TARDIS."),
        ("The Rhine", "Europe's busiest river, from source to sea."),
        ("Chloroplasts", "How plants capture the sun."),
        ("The Huguenots", "A history of exile and welcome."),
    ]
    cards = "\n".join(
        f"""<div class="card"><a href="/science/{i}"><img src="/c/{i}.jpg" alt=""><h3 class="card__title">{t}</h3>
<p class="card__teaser">{s}</p></a><span class="card__meta">{i + 2} hours ago</span></div>"""
        for i, (t, s) in enumerate(teasers)
    )
    ld = json_ld({"@context": "https://schema.org", "@type": "CollectionPage", "name": page.headline})
    return f"""{head(page, ld=ld).replace('content="article"', 'content="website"')}
<body>
{cookie_banner()}
{nav_menu(page.site)}
<main><h1 class="section-title">{e(page.headline)}</h1>
<div class="card-grid">
{cards}
</div>
<nav class="pagination"><a href="?page=2">Next page</a></nav>
{most_read()}
</main>
{site_footer(page.site)}
</body></html>
"""


PAGES = [
    Page(
        "wordpress_post",
        "Normans",
        6,
        "Who were the Normans? The people who gave Normandy its name",
        "Claire Dubois",
        "2017-03-14T09:30:00+01:00",
        "https://history-notes.example.com/2017/03/who-were-the-normans/",
        "History Notes",
        wordpress,
    ),
    Page(
        "div_soup_broadcaster",
        "Nikola_Tesla",
        9,
        "Nikola Tesla: the inventor who lit up the modern world",
        "Rhys Morgan",
        "2017-03-14T10:05:12+00:00",
        "https://news.example.co.uk/news/science-39264812",
        "Example News",
        div_soup,
    ),
    Page(
        "br_paragraphs_old_cms",
        "Computational_complexity_theory",
        7,
        "What makes a problem hard? A guide to computational complexity",
        "Henrik Larsen",
        "2016-05-02T00:00:00+00:00",
        "https://www.example.org/features/complexity.html",
        "The Computing Review",
        br_paragraphs,
    ),
    Page(
        "magazine_pull_quote",
        "Martin_Luther",
        6,
        "Martin Luther and the sound of a hammer",
        "Jonas Weber",
        "2017-10-31T06:00:00+01:00",
        "https://magazine.example.com/history/2017/oct/31/martin-luther-reformation",
        "The Long Read Magazine",
        pull_quote,
    ),
    Page(
        "live_blog",
        "Southern_California",
        8,
        "Southern California explained: live updates",
        "Maria Alvarez",
        "2016-09-20T13:15:00-07:00",
        "https://www.example.com/us-news/live/2016/sep/20/southern-california-live",
        "The Daily Example",
        live_blog,
    ),
    Page(
        "section_figure_related",
        "Huguenot",
        6,
        "The Huguenots: how French Protestants found refuge across the world",
        "Anna Lindqvist",
        "2017-04-22T11:00:00+02:00",
        "https://www.example.net/world/europe/2017/04/22/huguenots-refuge",
        "Europe Today",
        figure_related,
    ),
    Page(
        "amp_microdata",
        "European_Union_law",
        5,
        "How European Union law works, from treaties to the courts",
        "Lucas Moreau",
        "2016-06-24T07:45:00+02:00",
        "https://legal.example.com/eu/2016/06/24/how-eu-law-works",
        "Legal Affairs Weekly",
        microdata,
    ),
    Page(
        "trade_press_video",
        "Construction",
        7,
        "Construction: the industry that builds everything else",
        "Gareth Evans",
        "2017-01-09T08:00:00+00:00",
        "https://www.example.co.uk/industry/construction-explained",
        "Construction Weekly",
        newsletter_video,
    ),
    Page(
        "div_paragraphs_builder",
        "Harvard_University",
        7,
        "Inside Harvard: the oldest university in the United States",
        "Ngozi Okafor",
        "2016-11-03T15:20:00-04:00",
        "https://campus.example.edu/features/inside-harvard",
        "Campus Review",
        div_paragraphs,
    ),
    Page(
        "comments_heavy",
        "Doctor_Who",
        7,
        "Doctor Who: everything you need to know about the Time Lord",
        "Sam Patel",
        "2015-11-23T18:00:00+00:00",
        "https://www.example.com/tv/doctor-who-explained",
        "Screen Example",
        comments_heavy,
    ),
    Page(
        "messy_source",
        "Yuan_dynasty",
        6,
        "The Yuan dynasty: when the Mongols ruled China",
        "Li Wei",
        "2016-12-05T12:00:00+08:00",
        "https://blog.example.org/2016/12/05/yuan-dynasty/",
        "Silk Road Notes",
        messy_source,
    ),
    Page(
        "hydrated_app",
        "University_of_Chicago",
        7,
        "The University of Chicago at 125",
        "Aiko Tanaka",
        "2016-10-01T09:00:00-05:00",
        "https://www.example.com/education/2016/10/01/university-of-chicago-125",
        "The Midwest Example",
        hydrated,
    ),
]

NO_ARTICLE = Page(
    "section_front",
    "",
    0,
    "Science",
    "",
    "2017-03-14T09:00:00+00:00",
    "https://news.example.co.uk/science",
    "Example News",
    section_front,
)


def visible(paragraph: str) -> str:
    """The paragraph as storybot stores it: zero-width characters dropped, white space single."""
    return " ".join(paragraph.replace("\u200b", "").replace("\ufeff", "").split())


def gold_text(page: Page, paragraphs: list[str]) -> str:
    head = ["---", f"title: {page.headline}", f"source: {page.url}", f"date: {page.date}", f"author: {page.author}"]
    return "\n".join([*head, "---", *paragraphs]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    stories = {}
    for line in args.source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        stories[record["title"]] = record["paragraphs"]
    for page in PAGES:
        paragraphs = stories[page.story][: page.count]
        (HERE / f"{page.name}.html").write_text(page.template(page, paragraphs), encoding="utf-8")
        (HERE / f"{page.name}.gold.txt").write_text(gold_text(page, [visible(p) for p in paragraphs]), encoding="utf-8")
    (HERE / f"{NO_ARTICLE.name}.html").write_text(NO_ARTICLE.template(NO_ARTICLE, []), encoding="utf-8")
    print(f"{len(PAGES) + 1} pages written to {HERE}")


if __name__ == "__main__":
    main()
