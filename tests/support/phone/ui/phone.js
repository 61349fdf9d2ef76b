'use strict';
// The phone shell: tasks and back stacks, rendering, touch gestures (tap / long press / drag
// scroll / swipe), the status and navigation bars, the uiautomator-like UI tree, and the
// `window.phone` API the virtual device drives through page.evaluate.
(function () {
  const DB = window.PhoneData;
  const {SCREENS, APPS, appByPkg, LAUNCHER, SETTINGS, CONTACTS, MESSAGING, CLOCK} = window.Apps;
  const K = window.Kit;
  const {h, icon, t} = K;

  const RECENTS_ACTIVITY = 'com.android.quickstep.RecentsActivity';
  const LONG_PRESS_MS = 500;
  const TOUCH_SLOP = 8; // CSS px a finger may wander and still tap

  // ------------------------------------------------------------------ tasks
  const UI = {
    fg: LAUNCHER, // foreground package
    overlay: null, // null | 'recents'
    shade: false, // quick settings pulled down
    tasks: {}, // pkg -> {stack: [screen]}
    recents: [], // most recent first, launcher excluded
    toast: null,
    lastEnterAt: -1e9,
  };

  function newScreen(pkg, name, params) {
    const def = SCREENS[name];
    const scr = {pkg, name, params: Object.assign({}, params || {}), form: {}, scroll: {}, dialog: null,
      menu: null, autofocusDone: false};
    if (def.init) def.init(scr);
    return scr;
  }
  function rootScreen(pkg) {
    const app = appByPkg(pkg);
    return newScreen(pkg, app ? app.root : 'unavailable', {});
  }
  function task(pkg) {
    if (!UI.tasks[pkg]) UI.tasks[pkg] = {stack: [rootScreen(pkg)]};
    return UI.tasks[pkg];
  }
  function top() {
    const st = task(UI.fg).stack;
    return st[st.length - 1];
  }
  function touchRecents(pkg) {
    if (pkg === LAUNCHER) return;
    UI.recents = [pkg].concat(UI.recents.filter((p) => p !== pkg));
  }

  const Nav = {
    render,
    top,
    push(name, params) {
      const st = task(UI.fg).stack;
      st.push(newScreen(UI.fg, name, params));
      render();
    },
    replace(name, params) {
      const st = task(UI.fg).stack;
      st[st.length - 1] = newScreen(UI.fg, name, params);
      render();
    },
    back() {
      return goBack();
    },
    home() {
      goHome();
    },
    // Bring an app to the front as the launcher does: resume its task where it was.
    launch(pkg) {
      UI.overlay = null;
      UI.tasks[LAUNCHER] = {stack: [rootScreen(LAUNCHER)]};
      UI.fg = pkg;
      task(pkg);
      touchRecents(pkg);
      render();
    },
    openConversation(number) {
      UI.tasks[MESSAGING] = {stack: [rootScreen(MESSAGING), newScreen(MESSAGING, 'conversation', {address: number})]};
      Nav.launch(MESSAGING);
    },
    dialog(spec) {
      top().dialog = spec;
      render();
    },
    closeDialog() {
      top().dialog = null;
      render();
    },
    menu(spec) {
      top().menu = spec;
      render();
    },
    closeMenu() {
      top().menu = null;
      render();
    },
    toast(text) {
      UI.toast = {text, until: Date.now() + 2500};
      render();
      setTimeout(() => {
        if (UI.toast && Date.now() >= UI.toast.until) {
          UI.toast = null;
          render();
        }
      }, 2600);
    },
    focus(id) {
      const el = findById(document.getElementById('app'), id);
      if (el) {
        el.focus();
        const n = el.value.length;
        try {
          el.setSelectionRange(n, n);
        } catch (e) { /* not a text input */ }
      }
    },
    blur() {
      const a = document.activeElement;
      if (a && a !== document.body) a.blur();
    },
  };
  window.Nav = Nav;

  function goHome() {
    UI.overlay = null;
    UI.shade = false;
    UI.fg = LAUNCHER;
    UI.tasks[LAUNCHER] = {stack: [rootScreen(LAUNCHER)]};
    render();
    return true;
  }

  function goBack() {
    if (UI.shade) {
      UI.shade = false;
      render();
      return true;
    }
    if (UI.overlay === 'recents') {
      UI.overlay = null;
      render();
      return true;
    }
    const scr = top();
    if (scr.menu) {
      scr.menu = null;
      render();
      return true;
    }
    if (scr.dialog) {
      scr.dialog = null;
      render();
      return true;
    }
    const st = task(UI.fg).stack;
    if (st.length > 1) {
      st.pop();
      render();
      return true;
    }
    if (UI.fg !== LAUNCHER) {
      UI.fg = LAUNCHER;
      render();
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ rendering
  let rendering = false;
  let dirty = false;
  let renderedScreen = null;

  function findById(root, id) {
    if (!root) return null;
    for (const el of root.querySelectorAll('[data-id]')) if (el.dataset.id === id) return el;
    return null;
  }

  function render() {
    if (rendering) {
      dirty = true;
      return;
    }
    rendering = true;
    try {
      for (let i = 0; i < 4; i++) {
        dirty = false;
        renderOnce();
        if (!dirty) break;
      }
    } finally {
      rendering = false;
    }
  }

  function renderOnce() {
    window.I18N.setLocale(DB.getprop('persist.sys.locale'));
    document.documentElement.lang = window.I18N.htmlLang();
    const dark = DB.settingsGet('secure', 'ui_night_mode') === '2';
    document.documentElement.classList.toggle('dark', dark);
    document.getElementById('phone').classList.toggle('recents-fg', UI.overlay === 'recents');
    document.getElementById('phone').classList.toggle('launcher-fg',
      UI.fg === LAUNCHER && !UI.overlay && top().name === 'launcher');

    const app = document.getElementById('app');
    const scr = top();
    // Remember the focused field (and its caret) to restore it if the same screen re-renders.
    let keep = null;
    const a = document.activeElement;
    if (a && app.contains(a) && a.dataset.id && renderedScreen === scr) {
      keep = {id: a.dataset.id, s: a.selectionStart, e: a.selectionEnd};
    }

    let content;
    if (UI.overlay === 'recents') {
      content = renderRecents();
      app.dataset.pkg = LAUNCHER;
    } else {
      content = SCREENS[scr.name].render(scr, Nav);
      app.dataset.pkg = UI.fg;
    }
    const layers = [content];
    if (!UI.overlay && (scr.dialog || scr.menu)) {
      content.inert = true;
      layers.push(scr.dialog ? renderDialog(scr.dialog) : renderMenu(scr.menu));
    }
    app.replaceChildren(...layers);

    // Scroll positions live in the screen, so Back returns to where the list was.
    for (const el of UI.overlay ? [] : app.querySelectorAll('[data-scroll]')) {
      const id = el.dataset.id;
      if (scr.stickBottom && el.classList.contains('bubbles')) {
        el.scrollTop = el.scrollHeight;
        scr.stickBottom = false;
        scr.scroll[id] = el.scrollTop;
      } else if (scr.scroll[id] !== undefined) {
        el.scrollTop = scr.scroll[id];
      }
      el.addEventListener('scroll', () => {
        scr.scroll[id] = el.scrollTop;
      }, {passive: true});
    }

    const def = SCREENS[scr.name];
    if (UI.overlay || scr.dialog || scr.menu) {
      // nothing to focus under an overlay
    } else if (keep) {
      const el = findById(app, keep.id);
      if (el) {
        el.focus({preventScroll: true});
        try {
          el.setSelectionRange(keep.s, keep.e);
        } catch (e) { /* not a text input */ }
      }
    } else if (def.autofocus && !scr.autofocusDone) {
      scr.autofocusDone = true;
      Nav.focus(def.autofocus);
    }
    renderedScreen = scr;

    renderStatusBar();
    renderNavBar();
    renderShade();
    renderToast();
  }

  function renderDialog(d) {
    return h('div', {class: 'scrim', onTap: (ev) => {
      if (ev.target.classList.contains('scrim')) Nav.closeDialog();
    }},
    h('div', {class: 'dialog', id: 'android:id/parentPanel', cls: 'android.widget.FrameLayout'},
      h('div', {class: 'dialog-title', id: 'android:id/alertTitle', cls: 'android.widget.TextView'}, d.title),
      d.body ? h('div', {class: 'dialog-body', id: 'android:id/message', cls: 'android.widget.TextView'}, d.body) :
        null,
      h('div', {class: 'dialog-buttons'}, d.buttons.map((b) => K.button({id: b.id, text: b.text, kind: 'text',
        onTap: b.onTap})))));
  }

  function renderMenu(m) {
    const app = document.getElementById('app').getBoundingClientRect();
    const w = 200;
    const hgt = m.items.length * 48 + 16;
    let x = (m.at ? m.at.x : app.width / 2) - app.left;
    let y = (m.at ? m.at.y : app.height / 2) - app.top;
    x = Math.max(8, Math.min(x, app.width - w - 8));
    y = Math.max(8, Math.min(y, app.height - hgt - 8));
    return h('div', {class: 'scrim clear', onTap: (ev) => {
      if (ev.target.classList.contains('scrim')) Nav.closeMenu();
    }},
    h('div', {class: 'popup-menu', id: 'android:id/list', cls: 'android.widget.ListView',
      style: `left:${x}px;top:${y}px;width:${w}px`},
    m.items.map((it) => h('div', {class: 'menu-item', id: it.id, cls: 'android.widget.TextView',
      onTap: it.onTap}, it.text))));
  }

  // Overview: a horizontal carousel of the recent apps, each card a live miniature of the app's
  // screen (a real render, inert and hidden from the UI tree).
  const PREVIEW_NAV = {preview: true, render() {}, top, push() {}, replace() {}, back() {}, home() {},
    launch() {}, openConversation() {}, dialog() {}, closeDialog() {}, menu() {}, closeMenu() {}, toast() {},
    focus() {}, blur() {}};
  function renderRecents() {
    const app0 = document.getElementById('app').getBoundingClientRect();
    const scale = 0.68;
    const cardW = Math.round(app0.width * scale);
    const thumbH = Math.round(app0.height * scale);
    const cards = UI.recents.filter((p) => UI.tasks[p]).map((pkg) => {
      const app = appByPkg(pkg);
      const label = app ? t(app.label) : pkg;
      const st = UI.tasks[pkg].stack;
      const scr = st[st.length - 1];
      let mini;
      try {
        mini = SCREENS[scr.name].render(scr, PREVIEW_NAV);
      } catch (e) {
        mini = h('div', {class: 'screen'});
      }
      mini.inert = true;
      return h('div', {class: 'task-card', id: `${LAUNCHER}:id/task_${app ? app.short : 'app'}`, desc: label,
        cls: 'android.widget.FrameLayout', onTap: () => Nav.launch(pkg), style: `width:${cardW}px`},
      h('div', {class: 'task-head'},
        h('div', {class: 'app-bubble small', 'aria-hidden': 'true', style: `background:${app ? app.color : '#777'}`},
          icon(app ? app.icon : 'info', 'app-glyph' + (app && app.color === '#ffffff' ? ' full' : ''))),
        h('div', {class: 'task-title', id: `${LAUNCHER}:id/task_title`, cls: 'android.widget.TextView'}, label)),
      h('div', {class: 'task-thumb', 'aria-hidden': 'true', style: `height:${thumbH}px`},
        h('div', {class: 'task-mini', style: `width:${app0.width}px;height:${app0.height}px;` +
          `transform:scale(${scale})`}, mini)));
    });
    return h('div', {class: 'screen recents', id: `${LAUNCHER}:id/overview_panel`, cls: 'android.widget.FrameLayout'},
      cards.length ? h('div', {class: 'task-strip', id: `${LAUNCHER}:id/task_list`, scroll: 'x',
        cls: 'androidx.recyclerview.widget.RecyclerView', style: `padding:0 ${(app0.width - cardW) / 2}px`},
      cards) : K.emptyState(`${LAUNCHER}:id/empty_recents`, t('no_recent')),
      cards.length ? h('div', {class: 'recents-actions'}, K.button({id: `${LAUNCHER}:id/clear_all`,
        text: t('clear_all'), kind: 'tonal', onTap: () => {
          for (const p of UI.recents) delete UI.tasks[p];
          UI.recents = [];
          goHome();
        }})) : null);
  }

  // Status bar --------------------------------------------------------
  function renderStatusBar() {
    const bar = document.getElementById('statusbar');
    const airplane = DB.flag('global', 'airplane_mode_on');
    const wifi = DB.flag('global', 'wifi_on');
    const bt = DB.flag('global', 'bluetooth_on');
    const sys = (x) => `com.android.systemui:id/${x}`;
    bar.replaceChildren(
      h('div', {class: 'sb-left'},
        h('span', {class: 'sb-clock', id: sys('clock'), cls: 'android.widget.TextView', 'data-clock': 'time'},
          window.Apps.nowHM())),
      h('div', {class: 'sb-right', id: sys('system_icons'), cls: 'android.widget.LinearLayout'},
        bt ? h('span', {class: 'sb-icon', id: sys('bluetooth'), desc: t('bluetooth_icon'),
          cls: 'android.widget.ImageView'}, icon('bluetooth')) : null,
        airplane ? h('span', {class: 'sb-icon', id: sys('airplane'), desc: t('airplane_icon'),
          cls: 'android.widget.ImageView'}, icon('airplane')) : null,
        wifi ? h('span', {class: 'sb-icon', id: sys('wifi_signal'), desc: t('wifi_signal'),
          cls: 'android.widget.ImageView'}, icon('wifi')) : null,
        !airplane ? h('span', {class: 'sb-icon', id: sys('mobile_signal'), desc: t('phone_signal'),
          cls: 'android.widget.ImageView'}, icon('signal')) : null,
        DB.settingsGet('system', 'status_bar_show_battery_percent') === '1' ?
          h('span', {class: 'sb-pct', id: sys('battery_percentage_view'), cls: 'android.widget.TextView'},
            window.Apps.BATTERY_LEVEL + '%') : null,
        h('span', {class: 'sb-icon battery', id: sys('battery'), desc: t('battery_desc'),
          cls: 'android.widget.ImageView'}, icon('battery'))));
  }

  function renderNavBar() {
    const bar = document.getElementById('navbar');
    const sys = (x) => `com.android.systemui:id/${x}`;
    bar.replaceChildren(
      h('button', {class: 'nav-btn', id: sys('back'), desc: t('back'), cls: 'android.widget.ImageView',
        onTap: () => handleKey('KEYCODE_BACK')}, icon('nav_back')),
      h('button', {class: 'nav-btn', id: sys('home'), desc: t('home'), cls: 'android.widget.ImageView',
        onTap: () => handleKey('KEYCODE_HOME')}, icon('nav_home')),
      h('button', {class: 'nav-btn', id: sys('recent_apps'), desc: t('overview'), cls: 'android.widget.ImageView',
        onTap: () => handleKey('KEYCODE_APP_SWITCH')}, icon('nav_recents')));
  }

  // Quick settings, pulled down from the status bar.
  function renderShade() {
    const el = document.getElementById('shade');
    if (!UI.shade) {
      el.replaceChildren();
      el.hidden = true;
      return;
    }
    el.hidden = false;
    const sys = (x) => `com.android.systemui:id/${x}`;
    const airplane = DB.flag('global', 'airplane_mode_on');
    const wifi = DB.flag('global', 'wifi_on');
    const bt = DB.flag('global', 'bluetooth_on');
    const tile = (id, on, label, ic, onTap) => h('div', {class: 'qs-tile' + (on ? ' on' : ''), id: sys(id),
      role: 'switch', 'aria-checked': on ? 'true' : 'false', desc: label, cls: 'android.widget.Switch',
      onTap},
    h('span', {class: 'qs-icon', 'aria-hidden': 'true'}, icon(ic)),
    h('span', {class: 'qs-label', id: sys('tile_label'), cls: 'android.widget.TextView'}, label));
    el.replaceChildren(
      h('div', {class: 'shade-panel', id: sys('quick_settings_panel'), cls: 'android.widget.FrameLayout'},
        h('div', {class: 'shade-head'},
          h('span', {class: 'shade-time', 'data-clock': 'time', id: sys('header_clock'),
            cls: 'android.widget.TextView'}, window.Apps.nowHM()),
          h('span', {class: 'shade-date', 'data-clock': 'date', id: sys('date'), cls: 'android.widget.TextView'},
            window.Apps.dateLine())),
        window.Apps.brightnessSlider(sys('brightness_slider')),
        h('div', {class: 'qs-grid'},
          tile('tile_wifi', wifi, t('internet_tile'), 'wifi_line',
            () => DB.settingsPut('global', 'wifi_on', wifi ? '0' : '1')),
          tile('tile_bluetooth', bt, t('bluetooth'), 'bluetooth',
            () => DB.settingsPut('global', 'bluetooth_on', bt ? '0' : '1')),
          tile('tile_airplane', airplane, t('airplane_mode'), 'airplane', () => DB.setAirplaneMode(!airplane)),
          tile('tile_dark', DB.settingsGet('secure', 'ui_night_mode') === '2', t('dark_theme'), 'dark',
            () => DB.settingsPut('secure', 'ui_night_mode',
              DB.settingsGet('secure', 'ui_night_mode') === '2' ? '1' : '2'))),
        h('div', {class: 'shade-handle', 'aria-hidden': 'true'})),
      h('div', {class: 'shade-rest', onTap: () => {
        UI.shade = false;
        render();
      }}));
  }

  function renderToast() {
    const el = document.getElementById('toast');
    if (UI.toast && Date.now() < UI.toast.until) {
      el.hidden = false;
      el.replaceChildren(h('div', {class: 'toast-box', id: 'android:id/message', cls: 'android.widget.TextView'},
        UI.toast.text));
    } else {
      el.hidden = true;
      el.replaceChildren();
    }
  }

  // Clock text ticks without a full render.
  setInterval(() => {
    const time = window.Apps.nowHM();
    for (const el of document.querySelectorAll('[data-clock="time"]')) {
      if (el.textContent !== time) el.textContent = time;
    }
    const date = window.Apps.dateLine();
    for (const el of document.querySelectorAll('[data-clock="date"]')) {
      if (el.textContent !== date) el.textContent = date;
    }
  }, 1000);

  // ------------------------------------------------------------------ touch
  // Mouse events from the device are fingers: tap = click; held ≥ 500 ms still = long press;
  // a drag scrolls the list under it (no fling, so a swipe scrolls by exactly its length);
  // a drag that starts on the status bar and goes down opens quick settings.
  let G = null;
  let suppressClick = false;
  const touches = [];

  function canScroll(e) {
    return e.dataset.scroll === 'x' ? e.scrollWidth > e.clientWidth + 1 : e.scrollHeight > e.clientHeight + 1;
  }
  function findScroller(el) {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      if (e.dataset && e.dataset.scroll !== undefined && canScroll(e)) return e;
    }
    return null;
  }
  function handlerUp(el, prop) {
    for (let e = el; e && e !== document; e = e.parentElement || e.parentNode) {
      if (e[prop]) return e;
      if (e.inert) return null;
    }
    return null;
  }
  function isEditable(el) {
    return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable);
  }

  document.addEventListener('pointerdown', (e) => {
    touches.push({x: e.clientX, y: e.clientY});
    if (e.button !== 0) return;
    suppressClick = false;
    if (G && G.timer) clearTimeout(G.timer);
    const target = e.target;
    const sliderEl = handlerUp(target, '_slide');
    G = {x0: e.clientX, y0: e.clientY, t0: performance.now(), x: e.clientX, y: e.clientY, moved: false,
      long: false, timer: null, target,
      fromStatusBar: !!(target.closest && target.closest('#statusbar')),
      scroller: sliderEl ? null : findScroller(target)};
    if (G.scroller) {
      G.st0 = G.scroller.scrollTop;
      G.sl0 = G.scroller.scrollLeft;
    }
    if (sliderEl) {
      const r = sliderEl.getBoundingClientRect();
      const padding = 12;
      G.slide = {fn: sliderEl._slide, left: r.left + padding, width: Math.max(1, r.width - 2 * padding)};
      G.slide.fn((e.clientX - G.slide.left) / G.slide.width);
    }
    const longEl = handlerUp(target, '_long');
    if (longEl && !sliderEl) {
      const g = G;
      g.timer = setTimeout(() => {
        if (G === g && !g.moved) {
          g.long = true;
          longEl._long({x: g.x, y: g.y});
        }
      }, LONG_PRESS_MS);
    }
  }, true);

  // Non-editable elements never take focus from a field (Android's touch mode), and a press
  // never starts a text selection.
  document.addEventListener('mousedown', (e) => {
    if (!isEditable(e.target) && !(e.target.closest && e.target.closest('label.field, label.search, ' +
      'label.compose-field'))) {
      e.preventDefault();
    }
  }, true);

  document.addEventListener('pointermove', (e) => {
    if (!G || !(e.buttons & 1)) return;
    G.x = e.clientX;
    G.y = e.clientY;
    const dx = e.clientX - G.x0;
    const dy = e.clientY - G.y0;
    if (!G.moved && Math.hypot(dx, dy) > TOUCH_SLOP) {
      G.moved = true;
      if (G.timer) clearTimeout(G.timer);
    }
    if (G.slide) {
      G.slide.fn((e.clientX - G.slide.left) / G.slide.width);
    } else if (G.moved && G.scroller) {
      if (G.scroller.dataset.scroll === 'x') {
        G.scroller.scrollLeft = G.sl0 - dx;
        if (G.scroller.scrollLeft !== G.sl0) G.scrolled = true;
      } else {
        G.scroller.scrollTop = G.st0 - dy;
        if (G.scroller.scrollTop !== G.st0) G.scrolled = true;
      }
    }
  }, true);

  function endGesture(e, cancelled) {
    if (!G) return;
    if (G.timer) clearTimeout(G.timer);
    const g = G;
    G = null;
    if (g.moved || g.long) suppressClick = true;
    if (cancelled || !g.moved || g.slide) return;
    const dy = e.clientY - g.y0;
    const dx = e.clientX - g.x0;
    const vertical = Math.abs(dy) > Math.abs(dx);
    if (g.fromStatusBar && dy > 40 && vertical) {
      UI.shade = true;
      render();
    } else if (UI.shade && dy < -40 && vertical) {
      UI.shade = false;
      render();
    } else if (!UI.shade && !UI.overlay && vertical && Math.abs(dy) > 80 && !g.scrolled) {
      // A swipe that scrolled nothing goes to the screen (the home screen opens all apps).
      const scr = top();
      const def = SCREENS[scr.name];
      if (def.onSwipe && !scr.dialog && !scr.menu) def.onSwipe(scr, dy < 0 ? 'up' : 'down', Nav);
    }
  }
  document.addEventListener('pointerup', (e) => endGesture(e, false), true);
  document.addEventListener('pointercancel', (e) => endGesture(e, true), true);

  document.addEventListener('click', (e) => {
    if (suppressClick) {
      suppressClick = false;
      e.preventDefault();
      e.stopPropagation();
      return;
    }
    const el = handlerUp(e.target, '_tap');
    if (!el) return;
    if (el.disabled || el.getAttribute('aria-disabled') === 'true') return;
    e.preventDefault();
    el._tap(e);
  }, true);

  // Real key presses (the device presses Backspace/Enter on the page).
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing) {
      e.preventDefault();
      handleKey('KEYCODE_ENTER', true);
    } else if (e.key === 'Tab') {
      // Tab goes to the next text field, as on a phone (never to a button).
      e.preventDefault();
      handleKey('KEYCODE_TAB');
    } else if (e.key === 'Escape') {
      handleKey('KEYCODE_BACK');
    }
  }, true);

  function nextField(from, backwards) {
    const fields = Array.from(document.querySelectorAll('#app input, #app textarea'))
      .filter((el) => !el.disabled && !el.closest('[inert]') && el.getClientRects().length);
    if (!fields.length) return null;
    const i = fields.indexOf(from);
    if (i < 0) return fields[0];
    return fields[i + (backwards ? -1 : 1)] || null;
  }

  // ------------------------------------------------------------------ keys
  const CHAR_KEYS = {
    KEYCODE_SPACE: ' ', KEYCODE_PERIOD: '.', KEYCODE_COMMA: ',', KEYCODE_AT: '@', KEYCODE_PLUS: '+',
    KEYCODE_MINUS: '-', KEYCODE_EQUALS: '=', KEYCODE_SLASH: '/', KEYCODE_STAR: '*', KEYCODE_POUND: '#',
    KEYCODE_APOSTROPHE: "'", KEYCODE_SEMICOLON: ';', KEYCODE_LEFT_BRACKET: '[', KEYCODE_RIGHT_BRACKET: ']',
    KEYCODE_BACKSLASH: '\\', KEYCODE_GRAVE: '`',
  };
  function handleKey(name, fromKeyboard) {
    const key = String(name || '').toUpperCase();
    const focused = document.activeElement;
    const editable = isEditable(focused) ? focused : null;
    switch (key) {
      case 'KEYCODE_BACK':
      case 'KEYCODE_ESCAPE':
        return {handled: goBack()};
      case 'KEYCODE_HOME':
        return {handled: goHome()};
      case 'KEYCODE_APP_SWITCH':
        if (UI.overlay === 'recents') {
          UI.overlay = null;
        } else {
          UI.shade = false;
          UI.overlay = 'recents';
        }
        render();
        return {handled: true};
      case 'KEYCODE_ENTER':
      case 'KEYCODE_NUMPAD_ENTER':
      case 'KEYCODE_DPAD_CENTER': {
        // The device may both press Enter and call key(): act once.
        const now = performance.now();
        if (now - UI.lastEnterAt < 300) return {handled: true};
        UI.lastEnterAt = now;
        if (editable && editable._enter) {
          editable._enter();
          return {handled: true};
        }
        return {handled: !!editable};
      }
      case 'KEYCODE_TAB': {
        const next = nextField(editable, false);
        if (next) {
          next.focus();
          next.setSelectionRange(next.value.length, next.value.length);
        } else if (editable) {
          editable.blur();
        }
        return {handled: !!(next || editable)};
      }
      case 'KEYCODE_DEL':
        if (editable) {
          if (editable.selectionStart === editable.selectionEnd && editable.selectionStart > 0) {
            editable.setSelectionRange(editable.selectionStart - 1, editable.selectionEnd);
          }
          document.execCommand('delete');
          return {handled: true};
        }
        return {handled: false};
      case 'KEYCODE_FORWARD_DEL':
        if (editable) {
          document.execCommand('forwardDelete');
          return {handled: true};
        }
        return {handled: false};
      case 'KEYCODE_MOVE_END':
        if (editable) {
          editable.setSelectionRange(editable.value.length, editable.value.length);
          return {handled: true};
        }
        return {handled: false};
      case 'KEYCODE_MOVE_HOME':
        if (editable) {
          editable.setSelectionRange(0, 0);
          return {handled: true};
        }
        return {handled: false};
      case 'KEYCODE_VOLUME_UP':
      case 'KEYCODE_VOLUME_DOWN':
      case 'KEYCODE_VOLUME_MUTE': {
        const v = parseInt(DB.settingsGet('system', 'volume_music') || '7', 10);
        const nv = key === 'KEYCODE_VOLUME_MUTE' ? 0 : Math.max(0, Math.min(15, v + (key.endsWith('UP') ? 1 : -1)));
        DB.settingsPut('system', 'volume_music', String(nv));
        return {handled: true};
      }
      case 'KEYCODE_NOTIFICATION':
        UI.shade = !UI.shade;
        render();
        return {handled: true};
      default:
        break;
    }
    if (editable) {
      let ch = null;
      let m;
      if ((m = /^KEYCODE_([A-Z])$/.exec(key))) ch = m[1].toLowerCase();
      else if ((m = /^KEYCODE_(?:NUMPAD_)?([0-9])$/.exec(key))) ch = m[1];
      else if (CHAR_KEYS[key] !== undefined) ch = CHAR_KEYS[key];
      if (ch !== null) {
        insertText(ch);
        return {handled: true};
      }
    }
    return {handled: false};
  }

  function insertText(text) {
    const el = document.activeElement;
    if (!isEditable(el)) return {error: 'No focused text field: tap a text field first'};
    const s = String(text);
    if (!document.execCommand('insertText', false, s)) {
      const start = el.selectionStart ?? el.value.length;
      const end = el.selectionEnd ?? el.value.length;
      el.setRangeText(s, start, end, 'end');
      el.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertText', data: s}));
    }
    return {ok: true};
  }

  // ------------------------------------------------------------------ UI tree
  const CLICKABLE_TAGS = new Set(['BUTTON', 'INPUT', 'TEXTAREA', 'SELECT']);

  function ownText(el) {
    let s = '';
    for (const n of el.childNodes) if (n.nodeType === Node.TEXT_NODE) s += n.nodeValue;
    return s.replace(/\s+/g, ' ').trim();
  }
  function classOf(el, text) {
    if (el.dataset.cls) return el.dataset.cls;
    const role = el.getAttribute('role');
    if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') return 'android.widget.EditText';
    if (role === 'switch') return 'android.widget.Switch';
    if (role === 'checkbox') return 'android.widget.CheckBox';
    if (role === 'radio') return 'android.widget.RadioButton';
    if (el.tagName === 'BUTTON') return text ? 'android.widget.Button' : 'android.widget.ImageButton';
    if (el.dataset.scroll !== undefined) return K.RV;
    if (text) return 'android.widget.TextView';
    return 'android.view.ViewGroup';
  }
  function isNode(el, text) {
    return !!(el.dataset.cls || el.dataset.id || el._tap || el._long || el._slide || text ||
      CLICKABLE_TAGS.has(el.tagName) || el.getAttribute('role') || el.dataset.scroll !== undefined ||
      el.getAttribute('aria-label'));
  }
  function intersect(a, b) {
    const l = Math.max(a[0], b[0]);
    const tp = Math.max(a[1], b[1]);
    const r = Math.min(a[2], b[2]);
    const bt = Math.min(a[3], b[3]);
    return r - l > 0.5 && bt - tp > 0.5 ? [l, tp, r, bt] : null;
  }
  const r2 = (v) => Math.round(v * 100) / 100;

  function makeNode(el, bounds, pkg, text) {
    const role = el.getAttribute('role');
    const checkable = role === 'switch' || role === 'checkbox' || role === 'radio';
    const editable = el.tagName === 'INPUT' || el.tagName === 'TEXTAREA';
    const clickable = !!(el._tap || el._slide || CLICKABLE_TAGS.has(el.tagName));
    const enabled = !el.disabled && el.getAttribute('aria-disabled') !== 'true' &&
      !(el.closest && el.closest('[aria-disabled="true"]'));
    return {
      cls: classOf(el, text),
      text,
      id: el.dataset.id || '',
      desc: el.getAttribute('aria-label') || '',
      pkg,
      bounds: bounds.map(r2),
      clickable,
      checkable,
      checked: checkable && el.getAttribute('aria-checked') === 'true',
      enabled,
      focusable: editable || clickable || !!el._long,
      focused: document.activeElement === el,
      scrollable: el.dataset.scroll !== undefined && canScroll(el),
      longClickable: !!el._long,
      password: editable && el.type === 'password',
      selected: el.getAttribute('aria-selected') === 'true',
      children: [],
    };
  }

  function visit(el, parent, clip, pkg) {
    if (el.nodeType !== Node.ELEMENT_NODE) return;
    if (el.inert || el.hidden || el.getAttribute('aria-hidden') === 'true') return;
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) return;
    if (el.dataset.pkg) pkg = el.dataset.pkg;
    const r = el.getBoundingClientRect();
    const rect = [r.left, r.top, r.right, r.bottom];
    let text;
    if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') text = el.value || el.placeholder || '';
    else if (el.dataset.text !== undefined) text = el.dataset.text;
    else text = ownText(el);
    let node = null;
    if (isNode(el, text)) {
      const b = intersect(rect, clip);
      if (b) {
        node = makeNode(el, b, pkg, text);
        parent.children.push(node);
      }
    }
    let kidClip = clip;
    if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
      kidClip = intersect(rect, clip);
      if (!kidClip) return;
    }
    if (el.dataset.text !== undefined) return; // its text stands for its children
    for (const c of el.children) visit(c, node || parent, kidClip, pkg);
  }

  function uiTree() {
    const w = window.innerWidth;
    const hgt = window.innerHeight;
    const f = focused();
    const root = {cls: 'android.widget.FrameLayout', text: '', id: '', desc: '', pkg: f.package,
      bounds: [0, 0, w, hgt], clickable: false, checkable: false, checked: false, enabled: true,
      focusable: false, focused: false, scrollable: false, longClickable: false, password: false,
      selected: false, children: []};
    const phoneEl = document.getElementById('phone');
    for (const c of phoneEl.children) visit(c, root, [0, 0, w, hgt], f.package);
    return root;
  }

  // ------------------------------------------------------------------ activities & intents
  function focused() {
    if (UI.overlay === 'recents') return {package: LAUNCHER, activity: RECENTS_ACTIVITY};
    const scr = top();
    const def = SCREENS[scr.name];
    const app = appByPkg(UI.fg);
    return {package: UI.fg, activity: (def && def.activity) || (app ? app.activity : '.MainActivity')};
  }

  // Activities `am start -n` accepts, each mapped to the screen it opens.
  const ACTIVITIES = {
    [SETTINGS]: {
      '.Settings': 'settings', '.SubSettings': 'settings', '.homepage.SettingsHomepageActivity': 'settings',
      '.Settings$NetworkDashboardActivity': 'settings_network', '.Settings$WifiSettingsActivity': 'settings_network',
      '.Settings$WifiSettings2Activity': 'settings_network',
      '.Settings$ConnectedDeviceDashboardActivity': 'settings_connected',
      '.Settings$BluetoothSettingsActivity': 'settings_connected',
      '.Settings$DisplaySettingsActivity': 'settings_display', '.Settings$PowerUsageSummaryActivity': 'settings_battery',
      '.Settings$SoundSettingsActivity': 'settings_sound', '.Settings$SystemDashboardActivity': 'settings_system',
      '.Settings$LocalePickerActivity': 'settings_languages', '.Settings$LanguageSettingsActivity': 'settings_languages',
      '.Settings$MyDeviceInfoActivity': 'settings_about', '.Settings$DeviceInfoSettingsActivity': 'settings_about',
    },
    [CONTACTS]: {'.activities.PeopleActivity': 'contacts', '.activities.ContactEditorActivity': 'contact_editor',
      '.activities.CompactContactEditorActivity': 'contact_editor'},
    [MESSAGING]: {'.ui.ConversationListActivity': 'messages', '.ui.conversation.NewConversationActivity': 'compose',
      '.ui.conversationlist.ConversationListActivity': 'messages'},
    [CLOCK]: {'.DeskClock': 'clock', '.AlarmClock': 'clock'},
    [LAUNCHER]: {'.Launcher': 'launcher', 'com.android.launcher3.Launcher': 'launcher'},
  };

  function normActivity(pkg, activity) {
    let a = String(activity || '').trim();
    if (a.startsWith(pkg + '.')) a = a.slice(pkg.length);
    return a;
  }

  // Open an app at its root (or at the given activity's screen), as `am start -n` does.
  function start(pkg, activity) {
    const app = appByPkg(pkg);
    if (!app) return {error: `Activity not started, unable to resolve Intent { cmp=${pkg}/${activity || ''} }`};
    let name = app.root;
    if (activity) {
      const a = normActivity(pkg, activity);
      const table = ACTIVITIES[pkg];
      if (table && table[a]) name = table[a];
      else if (a !== normActivity(pkg, app.activity)) {
        return {error: `Activity class {${pkg}/${activity}} does not exist.`};
      }
    }
    UI.overlay = null;
    UI.shade = false;
    if (pkg === LAUNCHER) return goHome() && {ok: true};
    const stack = [rootScreen(pkg)];
    if (name !== app.root) stack.push(newScreen(pkg, name, {}));
    UI.tasks[pkg] = {stack};
    UI.fg = pkg;
    touchRecents(pkg);
    render();
    return {ok: true};
  }

  const SETTINGS_ACTIONS = {
    'android.settings.SETTINGS': 'settings',
    'android.settings.WIRELESS_SETTINGS': 'settings_network',
    'android.settings.WIFI_SETTINGS': 'settings_network',
    'android.settings.AIRPLANE_MODE_SETTINGS': 'settings_network',
    'android.settings.DATA_ROAMING_SETTINGS': 'settings_network',
    'android.settings.BLUETOOTH_SETTINGS': 'settings_connected',
    'android.settings.DISPLAY_SETTINGS': 'settings_display',
    'android.settings.SOUND_SETTINGS': 'settings_sound',
    'android.intent.action.POWER_USAGE_SUMMARY': 'settings_battery',
    'android.settings.BATTERY_SAVER_SETTINGS': 'settings_battery',
    'android.settings.LOCALE_SETTINGS': 'settings_languages',
    'android.settings.DEVICE_INFO_SETTINGS': 'settings_about',
  };

  function openOnly(pkg, name, params) {
    UI.overlay = null;
    UI.shade = false;
    UI.tasks[pkg] = {stack: [newScreen(pkg, name, params)]};
    UI.fg = pkg;
    touchRecents(pkg);
    render();
    return {ok: true};
  }

  // `am start -a ACTION [-d URI]`: a Settings page opens on its own (Back leaves Settings).
  function startAction(action, data) {
    const act = String(action || '');
    const uri = data === null || data === undefined ? '' : String(data);
    if (SETTINGS_ACTIONS[act]) return openOnly(SETTINGS, SETTINGS_ACTIONS[act], {});
    const scheme = uri.split(':')[0].toLowerCase();
    const target = decodeURIComponent(uri.slice(scheme.length + 1)).replace(/^\/\//, '');
    if ((act === 'android.intent.action.SENDTO' || act === 'android.intent.action.VIEW') &&
        (scheme === 'sms' || scheme === 'smsto')) {
      return openOnly(MESSAGING, 'conversation', {address: target});
    }
    if ((act === 'android.intent.action.VIEW' || act === 'android.intent.action.DIAL' ||
      act === 'android.intent.action.CALL') && scheme === 'tel') {
      return openOnly('com.google.android.dialer', 'unavailable', {});
    }
    if (act === 'android.intent.action.VIEW' && (scheme === 'http' || scheme === 'https')) {
      return openOnly('com.android.chrome', 'unavailable', {});
    }
    if (act === 'android.intent.action.INSERT' || act === 'android.intent.action.INSERT_OR_EDIT') {
      return openOnly(CONTACTS, 'contact_editor', {});
    }
    if (act === 'android.intent.action.SET_ALARM') return openOnly(CLOCK, 'alarm_edit', {});
    if (act === 'android.intent.action.SHOW_ALARMS') return openOnly(CLOCK, 'clock', {});
    if (act === 'android.media.action.IMAGE_CAPTURE' || act === 'android.media.action.STILL_IMAGE_CAMERA') {
      return openOnly('com.android.camera2', 'unavailable', {});
    }
    if (act === 'android.intent.action.MAIN' && !uri) return goHome() && {ok: true};
    return {error: `No Activity found to handle Intent { act=${act}${uri ? ' dat=' + uri : ''} }`};
  }

  function forceStop(pkg) {
    if (pkg === LAUNCHER) {
      UI.overlay = null;
      return goHome() && {ok: true};
    }
    delete UI.tasks[pkg];
    UI.recents = UI.recents.filter((p) => p !== pkg);
    if (UI.fg === pkg) {
      UI.fg = LAUNCHER;
    }
    render();
    return {ok: true};
  }

  function packages() {
    const out = APPS.map((a) => ({package: a.pkg, activity: a.activity, label: window.I18N.t(a.label),
      launchable: a.launchable}));
    // Labels in English whatever the UI language, plus the other names.
    const lang = window.I18N.lang();
    window.I18N.setLocale('en');
    APPS.forEach((a, i) => {
      out[i].label = window.I18N.t(a.label);
    });
    window.I18N.setLocale('zh');
    APPS.forEach((a, i) => {
      out[i].labels = {en: out[i].label, zh: window.I18N.t(a.label)};
    });
    window.I18N.setLocale(lang);
    for (const p of window.Apps.SYSTEM_PACKAGES) out.push({package: p, activity: null, label: p, launchable: false});
    return out;
  }

  function resetAll() {
    DB.reset();
    UI.fg = LAUNCHER;
    UI.overlay = null;
    UI.shade = false;
    UI.tasks = {};
    UI.recents = [];
    UI.toast = null;
    render();
    return {ok: true};
  }

  // ------------------------------------------------------------------ the API
  const phone = {
    settingsGet: (ns, key) => DB.settingsGet(ns, key),
    settingsPut: (ns, key, value) => DB.settingsPut(ns, key, value),
    settingsDelete: (ns, key) => DB.settingsDelete(ns, key),
    settingsList: (ns) => DB.settingsList(ns),
    getprop: (key) => DB.getprop(key),
    props: () => DB.props(),
    setprop: (key, value) => DB.setprop(key, value),
    contentQuery: (uri, projection, where, sort) => DB.contentQuery(uri, projection, where, sort),
    contentInsert: (uri, values) => DB.contentInsert(uri, values),
    contentDelete: (uri, where) => DB.contentDelete(uri, where),
    contentUpdate: (uri, values, where) => DB.contentUpdate(uri, values, where),
    packages,
    start,
    startAction,
    forceStop,
    focused,
    key: (name) => handleKey(name, false),
    insertText,
    uiTree,
    touches,
    ready: false,
    // Extras (not in the contract, but handy for the device):
    setAirplaneMode: (on) => DB.setAirplaneMode(!!on && on !== '0' && on !== 'false'),
    reset: resetAll,
    home: () => goHome() && {ok: true},
    screen: () => ({name: top().name, overlay: UI.overlay, shade: UI.shade}),
  };
  window.phone = phone;

  DB.onChange(() => render());
  render();
  phone.ready = true;
})();
