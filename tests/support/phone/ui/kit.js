'use strict';
// A tiny element builder and the Material-like widgets the apps share. Every widget sets the
// attributes the UI tree reads: data-id (resource-id), data-cls (Android class), aria-label
// (content-desc), role/aria-checked (checkable), and a tap/long-press handler (clickable).
(function () {
  const {icon} = window.Icons;
  const t = (k, v) => window.I18N.t(k, v);

  const RV = 'androidx.recyclerview.widget.RecyclerView';

  function append(el, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) {
      for (const k of kid) append(el, k);
    } else if (kid instanceof Node) {
      el.appendChild(kid);
    } else {
      el.appendChild(document.createTextNode(String(kid)));
    }
  }

  // h('div', {class, id: resource-id, cls: Android class, desc, onTap, onLong, …}, kids…)
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      switch (k) {
        case 'class':
          el.className = v;
          break;
        case 'id':
          el.dataset.id = v;
          break;
        case 'cls':
          el.dataset.cls = v;
          break;
        case 'desc':
          el.setAttribute('aria-label', v);
          break;
        case 'text':
          el.dataset.text = v;
          break;
        case 'onTap':
          el._tap = v;
          el.dataset.tap = '';
          break;
        case 'onLong':
          el._long = v;
          el.dataset.long = '';
          break;
        case 'onInput':
          el.addEventListener('input', () => v(el.value, el));
          break;
        case 'onEnter':
          el._enter = v;
          break;
        case 'onSlide':
          el._slide = v;
          el.dataset.slider = '';
          break;
        case 'value':
          el.value = v;
          break;
        case 'style':
          el.setAttribute('style', v);
          break;
        case 'scroll':
          el.dataset.scroll = v === true ? 'y' : v;
          break;
        default:
          el.setAttribute(k, v === true ? '' : v);
      }
    }
    append(el, kids);
    return el;
  }

  function iconButton(name, props) {
    return h('button', Object.assign({class: 'icon-btn', cls: 'android.widget.ImageButton'}, props),
      icon(name));
  }

  // A top app bar: optional up arrow, a title, action buttons on the right.
  function topBar(opts) {
    const pkg = opts.pkg;
    return h('div', {class: 'topbar' + (opts.cls ? ' ' + opts.cls : ''), id: pkg + ':id/toolbar',
      cls: 'android.view.ViewGroup'},
    opts.up ? iconButton(opts.upIcon || 'arrow_back', {id: pkg + ':id/navigate_up',
      desc: opts.upDesc || t('navigate_up'), onTap: opts.up}) : null,
    h('div', {class: 'topbar-titles'},
      h('div', {class: 'topbar-title', id: opts.titleId || pkg + ':id/title', cls: 'android.widget.TextView'},
        opts.title),
      opts.subtitle ? h('div', {class: 'topbar-subtitle', id: pkg + ':id/subtitle',
        cls: 'android.widget.TextView'}, opts.subtitle) : null),
    h('div', {class: 'topbar-actions'}, opts.actions || []));
  }

  function largeTitle(pkg, text, id) {
    return h('div', {class: 'large-title', id: id || pkg + ':id/large_title', cls: 'android.widget.TextView'},
      text);
  }

  function switchEl(id, checked, desc, onTap) {
    return h('div', {class: 'switch' + (checked ? ' on' : ''), role: 'switch',
      'aria-checked': checked ? 'true' : 'false', id, desc, onTap,
      cls: 'android.widget.Switch'},
    h('span', {class: 'switch-thumb', 'aria-hidden': 'true'},
      checked ? icon('check', 'thumb-icon') : null));
  }

  // A preference row: icon, title, summary, and optionally a switch at the end.
  function prefRow(o) {
    return h('div', {class: 'pref' + (o.disabled ? ' disabled' : '') + (o.noIcon ? ' no-icon' : ''),
      id: o.id, onTap: o.onTap, cls: 'android.widget.LinearLayout',
      'aria-disabled': o.disabled ? 'true' : null},
    o.icon ? h('div', {class: 'pref-icon', 'aria-hidden': 'true'}, icon(o.icon)) :
      (o.noIcon ? null : h('div', {class: 'pref-icon', 'aria-hidden': 'true'})),
    h('div', {class: 'pref-text'},
      h('div', {class: 'pref-title', id: o.titleId || 'android:id/title', cls: 'android.widget.TextView'},
        o.title),
      o.summary ? h('div', {class: 'pref-summary', id: o.summaryId || 'android:id/summary',
        cls: 'android.widget.TextView'}, o.summary) : null),
    o.sw ? switchEl(o.sw.id, o.sw.checked, o.sw.desc || o.title, o.onTap) : null,
    o.radio !== undefined ? h('div', {class: 'radio' + (o.radio ? ' on' : ''), role: 'radio',
      'aria-checked': o.radio ? 'true' : 'false', id: o.radioId, cls: 'android.widget.RadioButton'}) : null,
    o.end || null);
  }

  function list(id, kids, extraClass) {
    return h('div', {class: 'list' + (extraClass ? ' ' + extraClass : ''), id, scroll: true, cls: RV},
      kids);
  }

  // An outlined text field; the hint shows inside when empty and floats on the border when
  // filled (Material style). The EditText node's text is its value, or the hint when empty.
  function textField(o) {
    const input = h('input', {type: o.type || 'text', id: o.id, placeholder: o.hint, value: o.value || '',
      autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', inputmode: o.inputmode,
      onInput: o.onInput, onEnter: o.onEnter, class: 'field-input', cls: 'android.widget.EditText',
      'aria-invalid': o.error ? 'true' : null});
    return h('label', {class: 'field' + (o.value ? ' filled' : '') + (o.error ? ' invalid' : '') +
      (o.extraClass ? ' ' + o.extraClass : '')},
    h('span', {class: 'field-label', 'aria-hidden': o.value ? null : 'true'}, o.hint),
    input);
  }

  function searchField(o) {
    return h('label', {class: 'search' + (o.extraClass ? ' ' + o.extraClass : '')},
      h('span', {class: 'search-icon', 'aria-hidden': 'true'}, icon('search')),
      h('input', {type: 'text', id: o.id, placeholder: o.hint, value: o.value || '', autocomplete: 'off',
        spellcheck: 'false', onInput: o.onInput, onEnter: o.onEnter, class: 'search-input',
        cls: 'android.widget.EditText'}),
      o.value ? iconButton('close', {id: o.clearId, desc: o.clearDesc || t('cancel'), onTap: o.onClear,
        class: 'icon-btn small'}) : null);
  }

  function button(o) {
    return h('button', {class: 'btn ' + (o.kind || 'filled'), id: o.id, onTap: o.onTap,
      disabled: o.disabled, cls: 'android.widget.Button', desc: o.desc},
    o.icon ? icon(o.icon) : null, o.text);
  }

  function fab(o) {
    return h('button', {class: 'fab' + (o.text ? ' extended' : ''), id: o.id, desc: o.desc,
      onTap: o.onTap, cls: o.text ? 'android.widget.Button' : 'android.widget.ImageButton'},
    icon(o.icon || 'add'), o.text ? h('span', {class: 'fab-text'}, o.text) : null);
  }

  function avatar(name, big) {
    const s = String(name || '?').trim();
    const ch = s ? Array.from(s)[0].toUpperCase() : '?';
    let hsh = 0;
    for (const c of s) hsh = (hsh * 31 + c.codePointAt(0)) >>> 0;
    const hues = [210, 150, 20, 280, 340, 190, 45, 120];
    const hue = hues[hsh % hues.length];
    return h('div', {class: 'avatar' + (big ? ' big' : ''), 'aria-hidden': 'true',
      style: `background:hsl(${hue} 55% 85%);color:hsl(${hue} 60% 28%)`}, ch);
  }

  function emptyState(id, text) {
    return h('div', {class: 'empty', id, cls: 'android.widget.TextView'}, text);
  }

  window.Kit = {h, icon, t, RV, iconButton, topBar, largeTitle, switchEl, prefRow, list, textField,
    searchField, button, fab, avatar, emptyState};
})();
