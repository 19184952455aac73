/* global document, window, fetch, setInterval */
// Live regions of the web inbox: every element with data-live="<url>" is refreshed from that URL
// (an HTML fragment the server renders) every few seconds while the page is open and visible. A
// region that holds the keyboard focus is left alone, so nobody loses their place. No framework, no
// build step; the pages work without it.
(function () {
  'use strict';
  var EVERY_MS = 5000;
  function refresh(el) {
    if (document.hidden || el.contains(document.activeElement)) return;
    fetch(el.getAttribute('data-live'), { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) {
        if (res.status === 401) {
          window.location.reload(); // the session ended: show the sign-in page
          return null;
        }
        return res.ok ? res.text() : null;
      })
      .then(function (text) {
        if (text !== null && text !== el.innerHTML) {
          el.innerHTML = text;
          el.setAttribute('data-refreshed', new Date().toISOString());
        }
      })
      .catch(function () {
        /* the next tick tries again */
      });
  }
  function start() {
    var regions = document.querySelectorAll('[data-live]');
    regions.forEach(function (el) {
      setInterval(function () {
        refresh(el);
      }, EVERY_MS);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
