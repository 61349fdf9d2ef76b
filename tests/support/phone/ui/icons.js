'use strict';
// Small hand-drawn SVG icons (24×24 grid), so the page needs no external resources.
(function () {
  const S = 'stroke="currentColor" fill="none" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"';
  const F = 'fill="currentColor"';
  const ICONS = {
    arrow_back: `<path ${S} d="M20 12H5M11 5l-7 7 7 7"/>`,
    search: `<circle ${S} cx="10.5" cy="10.5" r="6"/><path ${S} d="M15 15l5.5 5.5"/>`,
    add: `<path ${S} d="M12 5v14M5 12h14"/>`,
    more: `<circle ${F} cx="12" cy="5" r="2"/><circle ${F} cx="12" cy="12" r="2"/><circle ${F} cx="12" cy="19" r="2"/>`,
    close: `<path ${S} d="M6 6l12 12M18 6L6 18"/>`,
    check: `<path ${S} d="M5 12.5l4.5 4.5L19 7.5"/>`,
    edit: `<path ${S} d="M4 20h4L19 9l-4-4L4 16z"/><path ${S} d="M13.5 6.5l4 4"/>`,
    delete: `<path ${S} d="M5 7h14M10 7V4.5h4V7M7 7l1 13h8l1-13"/>`,
    send: `<path ${F} d="M3 20.5L21.5 12 3 3.5 3 10l12 2-12 2z"/>`,
    person: `<circle ${F} cx="12" cy="8" r="4.2"/><path ${F} d="M3.5 21c0-4.6 3.8-7.5 8.5-7.5s8.5 2.9 8.5 7.5z"/>`,
    wifi: `<path ${F} d="M12 20.5L1.2 8.2C4.2 5.6 8 4 12 4s7.8 1.6 10.8 4.2z"/>`,
    wifi_line: `<path ${S} d="M2.5 9.5C5 7 8.4 5.5 12 5.5s7 1.5 9.5 4M5.5 13c1.7-1.7 4-2.7 6.5-2.7s4.8 1 6.5 2.7M8.6 16.3c.9-.9 2.1-1.4 3.4-1.4s2.5.5 3.4 1.4"/><circle ${F} cx="12" cy="19.5" r="1.5"/>`,
    airplane: `<path ${F} d="M21 16v-2l-8-5V3.5C13 2.7 12.3 2 11.5 2S10 2.7 10 3.5V9l-8 5v2l8-2.5V19l-2 1.5V22l3.5-1 3.5 1v-1.5L13 19v-5.5z"/>`,
    bluetooth: `<path ${S} d="M7 7l10 10-5 4.5V2.5L17 7 7 17"/>`,
    battery: `<rect ${F} x="8" y="3" width="8" height="2" rx="1"/><rect ${S} x="7" y="4.5" width="10" height="17" rx="2"/><rect ${F} x="9" y="9.5" width="6" height="10" rx="1"/>`,
    signal: `<path ${F} d="M21.5 2.5v19h-19z"/>`,
    brightness: `<circle ${S} cx="12" cy="12" r="4"/><path ${S} d="M12 2v2.5M12 19.5V22M2 12h2.5M19.5 12H22M4.9 4.9l1.8 1.8M17.3 17.3l1.8 1.8M4.9 19.1l1.8-1.8M17.3 6.7l1.8-1.8"/>`,
    display: `<rect ${S} x="6" y="2.5" width="12" height="19" rx="2.5"/><path ${S} d="M10 18.5h4"/>`,
    language: `<circle ${S} cx="12" cy="12" r="9.5"/><path ${S} d="M2.5 12h19M12 2.5c2.6 2.6 3.8 5.8 3.8 9.5s-1.2 6.9-3.8 9.5c-2.6-2.6-3.8-5.8-3.8-9.5S9.4 5.1 12 2.5z"/>`,
    info: `<circle ${S} cx="12" cy="12" r="9.5"/><path ${S} d="M12 11v6"/><circle ${F} cx="12" cy="7.5" r="1.3"/>`,
    system: `<circle ${S} cx="12" cy="12" r="9.5"/><path ${S} d="M12 7v5.5l3.5 2"/>`,
    gear: `<circle ${S} cx="12" cy="12" r="3.2"/><path ${S} d="M12 2.5l2 2.6 3.2-.6.8 3.2 3 1.4-1.4 3 1.4 3-3 1.4-.8 3.2-3.2-.6-2 2.6-2-2.6-3.2.6-.8-3.2-3-1.4 1.4-3-1.4-3 3-1.4.8-3.2 3.2.6z"/>`,
    alarm: `<circle ${S} cx="12" cy="13" r="7.5"/><path ${S} d="M12 9v4.5l3 2M3.5 5.5l3-2.5M20.5 5.5l-3-2.5"/>`,
    clock: `<circle ${S} cx="12" cy="12" r="9"/><path ${S} d="M12 6.5V12l4 2.5"/>`,
    message: `<path ${F} d="M4 3.5h16c1.1 0 2 .9 2 2v11c0 1.1-.9 2-2 2H8l-4.5 4V5.5c0-1.1.9-2 2-2z"/>`,
    phone: `<path ${F} d="M6.6 10.8c1.4 2.8 3.8 5.1 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1C10.6 21 3 13.4 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1z"/>`,
    camera: `<path ${F} d="M9 3.5L7.2 5.5H4c-1.1 0-2 .9-2 2v11c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2v-11c0-1.1-.9-2-2-2h-3.2L15 3.5z"/><circle fill="#fff" cx="12" cy="13" r="4.2"/>`,
    chrome: `<circle fill="#db4437" cx="12" cy="12" r="10"/><path fill="#0f9d58" d="M12 22A10 10 0 0 1 3.3 7l4.3 7.5A5 5 0 0 0 12 17h1z"/><path fill="#f4b400" d="M21.2 8A10 10 0 0 1 12 22l4.3-7.5A5 5 0 0 0 16.3 9z"/><circle fill="#fff" cx="12" cy="12" r="4.6"/><circle fill="#4285f4" cx="12" cy="12" r="3.6"/>`,
    play: `<path fill="#00a173" d="M4 2.5l11 9.5L4 21.5z"/><path fill="#ffbc00" d="M15 12l-3.5 3 6.5 3.6 3-1.7c.9-.5.9-1.8 0-2.3z"/><path fill="#e94235" d="M4 21.5L15 12l3 3.5z"/><path fill="#4285f4" d="M4 2.5L18 9.5 15 12z"/>`,
    nav_back: `<path ${S} d="M16.5 4.5v15L6 12z"/>`,
    nav_home: `<circle ${S} cx="12" cy="12" r="7"/>`,
    nav_recents: `<rect ${S} x="5.5" y="5.5" width="13" height="13" rx="1.5"/>`,
    chevron: `<path ${S} d="M9 5l7 7-7 7"/>`,
    network: `<path ${S} d="M2.5 9.5C5 7 8.4 5.5 12 5.5s7 1.5 9.5 4M5.5 13c1.7-1.7 4-2.7 6.5-2.7s4.8 1 6.5 2.7M8.6 16.3c.9-.9 2.1-1.4 3.4-1.4s2.5.5 3.4 1.4"/><circle ${F} cx="12" cy="19.5" r="1.5"/>`,
    devices: `<path ${S} d="M7 7l10 10-5 4.5V2.5L17 7 7 17"/>`,
    dark: `<path ${S} d="M20 14.5A8.5 8.5 0 0 1 9.5 4a8.5 8.5 0 1 0 10.5 10.5z"/>`,
    vibrate: `<rect ${S} x="8" y="4" width="8" height="16" rx="1.5"/><path ${S} d="M4.5 8v8M2 10v4M19.5 8v8M22 10v4"/>`,
    dnd: `<circle ${S} cx="12" cy="12" r="9.5"/><path ${S} d="M7.5 12h9"/>`,
    volume: `<path ${F} d="M3 9v6h4l5 5V4L7 9z"/><path ${S} d="M15.5 8.5a5 5 0 0 1 0 7M18 6a8.5 8.5 0 0 1 0 12"/>`,
  };

  function icon(name, cls) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
    svg.innerHTML = ICONS[name] || ICONS.info;
    return svg;
  }
  window.Icons = {icon, names: Object.keys(ICONS)};
})();
