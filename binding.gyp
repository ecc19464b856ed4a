{
  "targets": [
    {
      "target_name": "shm_queue",
      "sources": [
        "native/attach.cc",
        "native/lock.cc",
        "native/names.cc",
        "native/procfs.cc",
        "native/queue.cc",
        "native/records.cc",
        "native/segment.cc",
        "native/users.cc",
        "native/waiters.cc",
        "native/binding/init.cc",
        "native/binding/js_errors.cc",
        "native/binding/queue_handle.cc",
        "native/binding/waiter.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden", "-flto=auto"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden", "-fno-exceptions", "-flto=auto"],
      "ldflags": ["-flto=auto"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lrt", "-lpthread"] }]
      ]
    }
  ]
}
