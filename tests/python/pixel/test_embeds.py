"""YouTube and Vimeo embeds reported as `video` events without the site's help: the core
loads the idle chunk, which finds the player iframes (src/idle/embeds.ts) and talks to each
player through its postMessage interface (src/idle/players.ts). Real Chromium, the real
ingest server and the example site's /video.html; the players are local stand-ins
(standins/) served at the players' real URLs, so they run with the players' origins, which
the pixel checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Frame, Page, Route

from oie.example_site import ExampleSite
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import events_for, hide_page, visitor_id, wait_events, wait_for

STANDINS = Path(__file__).parent / "standins"
# video.html's players as the pixel reports them; the late one is pasted without
# enablejsapi=1, which the pixel adds before the player loads.
YOUTUBE = "https://www.youtube.com/embed/aqz-KE-bpKQ?enablejsapi=1"
VIMEO = "https://player.vimeo.com/video/76979871"
LATE = "https://www.youtube-nocookie.com/embed/eRsGyueVLvQ?enablejsapi=1"
# A player pasted without enablejsapi=1 and in the page before the pixel starts: left alone.
PASTED = "https://www.youtube.com/embed/pasted"
PASTE = f"""new MutationObserver((_, obs) => {{
  const main = window == top && document.querySelector('main');
  if (main) {{
    obs.disconnect();
    main.insertAdjacentHTML('afterbegin', '<iframe id="pasted" src="{PASTED}"></iframe>');
  }}
}}).observe(document, {{childList: true, subtree: true}});"""

# What each stand-in's watch() plays (play, a stall, pause at 40 %, play to the end), as
# the HTML5 video events would report it.
WATCHED = [
    ("complete", 100),
    ("pause", 40),
    ("play", 0),
    ("play", 40),
    ("progress", 25),
    ("progress", 50),
    ("progress", 75),
]

# Wraps the idle chunk's start() as it installs itself (window.__oieIdle): logs each video
# event it emits (window.__videos), so the test knows when the chunk has acted; the emit is
# still the core's. The players it tracks are the iframes it marked (`_oie`, embeds.ts).
EMBED_SPY = """(() => {
  let chunk; window.__videos = [];
  Object.defineProperty(window, '__oieIdle', {configurable: true, get: () => chunk, set(c) {
    const start = c.start;
    c.start = (emit) => start((type, data) => {
      if (type == 'video') window.__videos.push(Object.assign({type}, data));
      emit(type, data);
    });
    chunk = c;
  }});
})();"""


TRACKED = "Array.from(document.querySelectorAll('iframe')).filter((f) => f._oie).map((f) => f.src)"


def html(body: str) -> Callable[[Route], None]:
    return lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=body
    )


def serve_players(page: Page) -> None:
    """The players' embed URLs answer with the stand-ins (the tests have no network)."""
    youtube = (STANDINS / "youtube.html").read_text()
    page.route("https://www.youtube.com/embed/**", html(youtube))
    page.route("https://www.youtube-nocookie.com/embed/**", html(youtube))
    page.route("https://player.vimeo.com/video/**", html((STANDINS / "vimeo.html").read_text()))


def frame(page: Page, url: str) -> Frame:
    """The page's frame at url (each poll is a Playwright call, so routes are served).

    A player's frame is a new site, so a new renderer process: on a machine whose cores
    are busy with the rest of the suite that start can take a while, hence the longer wait.
    Should it never come, the message says where every frame and iframe is instead."""

    def find() -> Frame | None:
        page.evaluate("0")
        return next((f for f in page.frames if f.url == url), None)

    try:
        return wait_for(find, timeout=60.0, what=f"a frame at {url}")
    except AssertionError as timed_out:
        frames = [f.url for f in page.frames]
        iframes = page.evaluate(
            "Array.from(document.querySelectorAll('iframe')).map((f) => [f.id, f.src])"
        )
        raise AssertionError(f"{timed_out}; frames {frames}; iframes {iframes}") from None


def tracked(page: Page) -> list[str]:
    """The src of each iframe the idle chunk tracks as a player."""
    return sorted(page.evaluate(TRACKED))


def spied(page: Page) -> list[dict]:
    return list(page.evaluate("window.__videos"))


def actions(events: list[dict], src: str) -> list[tuple[str, int]]:
    return sorted((e["action"], e["percent"]) for e in events if e["src"] == src)


def test_youtube_and_vimeo_report_video_events_like_html5_video(
    page: Page, site: ExampleSite, collector: IngestServer
) -> None:
    serve_players(page)
    page.add_init_script(EMBED_SPY)
    page.add_init_script(PASTE)
    navigated: list[str] = []
    page.on("framenavigated", lambda f: navigated.append(f.url))
    page.goto(site.url + "/video.html")
    vid = visitor_id(page)
    wait_for(lambda: len(tracked(page)) == 3, what="the page's players tracked")
    # A player added after the idle chunk started. A synthetic click: headless Chromium
    # sometimes routes a mouse click made right after scrolling the button into view to the
    # cross-origin player iframe that was at that point before the scroll. Its src is read
    # right after the microtasks of the task that inserted it (the pixel's observer was
    # queued before this continuation): any response to the first src needs a task of its own.
    src_as_inserted = page.evaluate(
        """async () => {
            document.getElementById('more-video').click();
            await null;
            return document.getElementById('tour').src;
        }"""
    )
    assert src_as_inserted == LATE
    all_players = sorted([YOUTUBE, VIMEO, PASTED, LATE])
    wait_for(lambda: tracked(page) == all_players, what="four players tracked")
    players = {src: frame(page, src) for src in (YOUTUBE, VIMEO, LATE)}
    pasted = frame(page, PASTED)
    # The browser drops the first src's navigation for the second one; rarely, under load,
    # it has committed it already, and the second replaces it. Never the other way round.
    assert page.get_attribute("#tour", "src") == LATE
    late_navigations = [u for u in navigated if "eRsGyueVLvQ" in u]
    assert late_navigations[-1:] == [LATE]
    assert late_navigations[:-1] in ([], [LATE.removesuffix("?enablejsapi=1")])
    # It did not reload the one already in the page, which therefore never answers.
    assert page.get_attribute("#pasted", "src") == PASTED
    assert [u for u in navigated if "pasted" in u] == [PASTED]

    # The pixel greeted each player and, for Vimeo, subscribed to its playback events.
    wait_for(
        lambda: all(players[src].evaluate("standin.answered") for src in (YOUTUBE, LATE)),
        what="the YouTube players greeted",
    )
    wait_for(
        lambda: (
            sorted(players[VIMEO].evaluate("standin.listeners"))
            == ["ended", "pause", "play", "timeupdate"]
        ),
        what="Vimeo events subscribed",
    )
    for f in [*players.values(), pasted]:
        f.evaluate("standin.watch()")
    wait_for(
        lambda: sum(v["action"] == "complete" for v in spied(page)) == 3, what="three completes"
    )
    assert {src: actions(spied(page), src) for src in players} == dict.fromkeys(players, WATCHED)
    assert len(spied(page)) == 3 * len(WATCHED)  # nothing from the pasted player
    wait_for(lambda: pasted.evaluate("standin.received.length"), what="the pasted player greeted")
    greeted = pasted.evaluate("[standin.answered, standin.received[0]]")
    assert greeted == [False, {"event": "listening", "id": 1, "channel": "widget"}]

    hide_page(page)  # the pixel flushes on leaving
    landed = [e["data"] for e in wait_events(collector, vid, "video", 3 * len(WATCHED))]
    assert {src: actions(landed, src) for src in players} == dict.fromkeys(players, WATCHED)
    assert all(set(d) == {"src", "action", "percent"} for d in landed)


def test_only_player_iframes_are_tracked(page: Page, site: ExampleSite) -> None:
    """Neither other iframes nor a link to a player are players; players added later are,
    and report."""
    serve_players(page)
    page.add_init_script(EMBED_SPY)
    page.goto(site.url + "/product.html")  # an HTML5 video, no player
    page.wait_for_function("window.__oieIdle")  # the idle chunk (and its watcher) is running
    page.evaluate(
        """() => new Promise((resolve) => {
            document.querySelector('main').insertAdjacentHTML('beforeend',
              '<iframe srcdoc="<p>widget</p>"></iframe><iframe src="about:blank"></iframe>'
              + '<a href="https://www.youtube.com/embed/aqz-KE-bpKQ">the webinar</a>');
            setTimeout(resolve, 100);
        })"""
    )
    assert tracked(page) == []
    vimeo = "https://player.vimeo.com/video/1"
    youtube = "https://www.youtube.com/embed/x?enablejsapi=1"
    page.evaluate(
        f"""() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<iframe src="{vimeo}"></iframe><div><iframe src="{youtube}"></iframe></div>')"""
    )
    wait_for(lambda: tracked(page) == [vimeo, youtube], what="both players tracked")
    youtube_frame = frame(page, youtube)
    wait_for(lambda: youtube_frame.evaluate("standin.answered"), what="the player greeted")
    youtube_frame.evaluate("standin.watch()")
    wait_for(lambda: any(v["action"] == "complete" for v in spied(page)), what="complete")
    assert actions(spied(page), youtube) == WATCHED


def test_messages_not_from_the_player_are_ignored(
    page: Page, site: ExampleSite, collector: IngestServer
) -> None:
    """Player-shaped messages from a tracked iframe that left the player's origin (right
    source, wrong origin), from a frame of the player's origin that is not a tracked player
    (right origin, wrong source) and from the page itself change nothing."""
    serve_players(page)
    foreign = (STANDINS / "foreign.html").read_text()
    page.route("https://evil.example/**", html(foreign))
    page.route("https://www.youtube.com/about", html(foreign))
    hijacked = "https://www.youtube.com/embed/hijacked?enablejsapi=1"
    page.route(hijacked, html('<script>location.replace("https://evil.example/player")</script>'))
    page.add_init_script(EMBED_SPY)
    page.goto(site.url + "/video.html")
    vid = visitor_id(page)
    page.evaluate(
        """(src) => {
            window.__fakes = 0;
            addEventListener('message', (e) => String(e.data).includes('"fake"') && __fakes++);
            document.querySelector('main').insertAdjacentHTML('beforeend',
              `<iframe id="hijacked" src="${src}"></iframe>`
              + '<iframe id="about" src="https://www.youtube.com/about"></iframe>');
        }""",
        hijacked,
    )
    wait_for(lambda: hijacked in tracked(page), what="the hijacked iframe tracked")
    frame(page, "https://evil.example/player")
    frame(page, "https://www.youtube.com/about")
    # Fakes keep arriving after every tracker listens (each round is 4 messages per frame).
    heard = page.evaluate("__fakes")
    page.evaluate(
        """() => postMessage(JSON.stringify({fake: true, event: 'infoDelivery',
                                   info: {playerState: 1, currentTime: 1, duration: 2}}), '*')"""
    )
    wait_for(lambda: page.evaluate("__fakes") >= heard + 80, what="fake player messages heard")
    assert spied(page) == []

    # The real player next to them is still reported, and only it.
    youtube = frame(page, YOUTUBE)
    wait_for(lambda: youtube.evaluate("standin.answered"), what="the player greeted")
    youtube.evaluate("standin.watch()")
    wait_for(lambda: any(v["action"] == "complete" for v in spied(page)), what="complete")
    assert actions(spied(page), YOUTUBE) == WATCHED and len(spied(page)) == len(WATCHED)
    hide_page(page)
    landed = [e["data"] for e in wait_events(collector, vid, "video", len(WATCHED))]
    assert actions(landed, YOUTUBE) == WATCHED
    assert len(events_for(collector, vid, "video")) == len(WATCHED)
