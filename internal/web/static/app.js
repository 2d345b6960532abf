// Gatehouse: small enhancements. Every page works without this file.
(function () {
  'use strict';

  // Ask before a destructive form is sent.
  document.addEventListener('submit', function (e) {
    var msg = e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });

  // Show times in the reader's own time zone.
  document.querySelectorAll('time[data-local]').forEach(function (el) {
    var d = new Date(el.getAttribute('datetime'));
    if (!isNaN(d.getTime())) {
      el.title = el.textContent;
      el.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    }
  });

  // Keep "Send a new code" off until the server says a new code may be
  // asked for; the server refuses an early one anyway.
  document.querySelectorAll('[data-resend-after]').forEach(function (el) {
    var left = Number(el.getAttribute('data-resend-after')) || 0;
    var btn = el.parentNode.querySelector('button[type="submit"]');
    if (!btn || left <= 0) {
      return;
    }
    btn.disabled = true;
    var timer = setInterval(function () {
      left -= 1;
      if (left > 0) {
        el.textContent = 'You can ask for a new code in ' + left + (left === 1 ? ' second.' : ' seconds.');
        return;
      }
      clearInterval(timer);
      el.textContent = 'You can ask for a new code now.';
      btn.disabled = false;
    }, 1000);
  });

  // Copy a sharing link to the clipboard; the field stays selectable
  // without JavaScript.
  document.querySelectorAll('button[data-copy]').forEach(function (btn) {
    var field = document.getElementById(btn.getAttribute('data-copy'));
    var status = btn.parentNode.querySelector('.status');
    if (!field) {
      return;
    }
    btn.addEventListener('click', function () {
      function done(ok) {
        if (status) {
          status.textContent = ok ? 'Copied.' : 'Select the link and copy it.';
        }
      }
      field.focus();
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
          done(document.execCommand && document.execCommand('copy'));
        });
        return;
      }
      done(document.execCommand && document.execCommand('copy'));
    });
  });

  // Upload with a progress bar. The server answers this request with JSON
  // that says which page to show next.
  var form = document.getElementById('upload-form');
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var input = form.querySelector('input[type="file"]');
  var bar = document.getElementById('upload-progress');
  var status = document.getElementById('upload-status');
  var button = form.querySelector('button[type="submit"]');
  var max = Number(form.getAttribute('data-max-upload')) || 0;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }

  function finish(text) {
    bar.hidden = true;
    button.disabled = false;
    say(text, true);
  }

  // A replacement keeps the shared file's name, so a file of another type
  // or extension would be served under a name that misdescribes it: ask.
  function extension(name) {
    var dot = name.lastIndexOf('.');
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  }
  function confirmReplace(file) {
    var of = document.getElementById('replace-of');
    if (!of || !file) {
      return true;
    }
    var name = of.getAttribute('data-name') || '';
    var type = (of.getAttribute('data-type') || '').split(';')[0].trim().toLowerCase();
    var sameExt = extension(file.name) === extension(name);
    var sameType = !file.type || !type || file.type === type;
    if (sameExt && sameType) {
      return true;
    }
    return window.confirm('“' + file.name + '” is a different type of file from “' + name +
      '”. It will replace it and keep the name “' + name + '”. Replace anyway?');
  }

  form.addEventListener('submit', function (e) {
    if (e.defaultPrevented) {
      return;
    }
    e.preventDefault();
    var files = input.files;
    if (!files || files.length === 0) {
      say('Choose one or more files to upload.', true);
      return;
    }
    for (var i = 0; i < files.length; i++) {
      if (max > 0 && files[i].size > max) {
        say('“' + files[i].name + '” is larger than the limit of ' + Math.floor(max / 1048576) + ' MiB.', true);
        return;
      }
    }
    if (!confirmReplace(files[0])) {
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-CSRF-Token', form.elements.csrf.value);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable && ev.total > 0) {
        bar.max = ev.total;
        bar.value = ev.loaded;
        say('Uploading… ' + Math.floor(100 * ev.loaded / ev.total) + '%');
      }
    };
    xhr.onload = function () {
      var body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (err) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.location) {
        say('Upload complete.');
        window.location.assign(body.location);
        return;
      }
      if (xhr.status === 403 && !body) {
        finish('The page has expired. Reload it and try again.');
        return;
      }
      // Errors come in the Graph shape: {"error": {"code", "message"}}.
      var msg = body && body.error && body.error.message;
      finish(msg || 'The upload failed (status ' + xhr.status + '). Reload the page and try again.');
    };
    xhr.onerror = function () {
      finish('The upload failed. Check your connection and try again.');
    };
    bar.removeAttribute('value');
    bar.hidden = false;
    button.disabled = true;
    say('Uploading…');
    xhr.send(new FormData(form));
  });
})();
