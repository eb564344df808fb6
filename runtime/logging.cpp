#include "runtime/logging.hpp"

#include <chrono>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace hal9000 {

namespace {

std::mutex mtx;
std::shared_ptr<spdlog::logger> main_logger;
std::shared_ptr<spdlog::logger> audit_logger;

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

} // namespace

void init_logging(const std::string& home, bool console) {
  std::lock_guard<std::mutex> guard{mtx};
  if (main_logger)
    return;
  spdlog::init_thread_pool(8192, 1);
  std::vector<spdlog::sink_ptr> sinks;
  if (console)
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!home.empty()) {
    auto dir = home + "/logs";
    ::mkdir(dir.c_str(), 0700);
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      dir + "/hal9000d.log", 10 * 1024 * 1024, 5));
    auto audit_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(
      dir + "/audit.log");
    audit_logger = std::make_shared<spdlog::async_logger>(
      "audit", audit_sink, spdlog::thread_pool(),
      spdlog::async_overflow_policy::block);
    audit_logger->set_pattern("%v");
    audit_logger->flush_on(spdlog::level::info);
  }
  if (sinks.empty())
    sinks.push_back(std::make_shared<spdlog::sinks::null_sink_mt>());
  main_logger = std::make_shared<spdlog::async_logger>(
    "hal9000d", sinks.begin(), sinks.end(), spdlog::thread_pool(),
    spdlog::async_overflow_policy::block);
  main_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  main_logger->flush_on(spdlog::level::info);
}

std::shared_ptr<spdlog::logger> log() {
  std::lock_guard<std::mutex> guard{mtx};
  if (!main_logger) {
    // Embedded without init_logging: a quiet console logger.
    main_logger = spdlog::stderr_color_mt("hal9000");
    main_logger->set_level(spdlog::level::warn);
  }
  return main_logger;
}

void audit(const std::string& event, nlohmann::json fields) {
  std::shared_ptr<spdlog::logger> l;
  {
    std::lock_guard<std::mutex> guard{mtx};
    l = audit_logger;
  }
  if (!l)
    return;
  nlohmann::json line = {{"time", utc_now()}, {"event", event}};
  for (auto& [k, v] : fields.items())
    line[k] = v;
  l->info(line.dump());
}

void shutdown_logging() {
  std::lock_guard<std::mutex> guard{mtx};
  if (main_logger)
    main_logger->flush();
  if (audit_logger)
    audit_logger->flush();
  main_logger.reset();
  audit_logger.reset();
  spdlog::shutdown();
}

} // namespace hal9000
