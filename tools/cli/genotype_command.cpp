// `bnas_engine genotype show|draw|list`: a published or saved genotype printed as DARTS text
// and JSON or converted (show --out), drawn as Graphviz .dot, SVG and PNG (draw), and the
// published names (list).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/check.h"
#include "nas/genotype.h"
#include "nas/genotype_darts.h"
#include "nas/genotype_file.h"
#include "nas/published_genotypes.h"
#include "tools/cli/commands.h"
#include "tools/cli_app.h"
#include "tools/report.h"

namespace fs = std::filesystem;

namespace bnas::cli {
namespace {

struct GenotypeArgs {
  std::string genotype, format = "both", out;
  bool no_png = false;
};

int run_genotype_show(const std::string& arg, const std::string& format, const std::string& out) {
  const nas::Genotype g = nas::resolve_genotype(arg);
  if (!out.empty()) {
    nas::write_genotype_file(g, out);
    std::fprintf(stderr, "wrote %s\n", out.c_str());
    return kOk;
  }
  if (format == "darts" || format == "both") std::printf("%s\n", nas::genotype_to_darts(g).c_str());
  if (format == "json" || format == "both") std::printf("%s", nas::genotype_to_json_text(g).c_str());
  return kOk;
}

int run_genotype_draw(const std::string& arg, const std::string& out, bool png) {
  const nas::Genotype g = nas::resolve_genotype(arg);
  std::error_code ec;
  fs::create_directories(out, ec);
  BNAS_CHECK(!ec, "cannot create ", out, ": ", ec.message());
  std::string stem = fs::path(arg).stem().string();
  if (stem.empty()) stem = "cell";
  for (const auto& p : report::draw_genotype(g, out, stem, png)) std::printf("%s\n", p.c_str());
  return kOk;
}

int run_genotype_list() {
  for (const auto& n : nas::published_genotype_names()) std::printf("%s\n", n.c_str());
  return kOk;
}

}  // namespace

Command add_genotype_command(CLI::App& app) {
  auto* geno = app.add_subcommand("genotype", "print, convert and draw genotypes");
  geno->require_subcommand(1);
  auto a = std::make_shared<GenotypeArgs>();
  auto* show = geno->add_subcommand("show", "print a genotype as DARTS text and JSON, or convert it with --out");
  show->add_option("genotype", a->genotype, "published name or file (JSON or DARTS text)")->required();
  show->add_option("--format", a->format, "darts, json or both")
      ->check(CLI::IsMember({"darts", "json", "both"}))
      ->capture_default_str();
  show->add_option("--out", a->out, "write to this file instead (.json: JSON, anything else: DARTS text)");
  auto* draw = geno->add_subcommand("draw", "draw both cells as Graphviz .dot and SVG (and PNG when dot is installed)");
  draw->add_option("genotype", a->genotype, "published name or file (JSON or DARTS text)")->required();
  draw->add_option("--out", a->out, "output folder")->required();
  draw->add_flag("--no-png", a->no_png, "do not call Graphviz even when it is installed");
  auto* list = geno->add_subcommand("list", "the published genotype names");
  return {geno, [a, show, draw, list] {
            if (show->parsed()) return run_genotype_show(a->genotype, a->format, a->out);
            if (draw->parsed()) return run_genotype_draw(a->genotype, a->out, !a->no_png);
            if (list->parsed()) return run_genotype_list();
            return kOk;
          }};
}

}  // namespace bnas::cli
