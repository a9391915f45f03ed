// A plain description of the four networks a config builds: names, parameter counts, code sizes.
import { MunitConfig } from './config/config.js';
import { AdaINGen } from './networks/generator.js';
import { MsImageDis } from './networks/discriminator.js';

export interface ModelSummary {
  networks: { name: 'gen_a' | 'gen_b' | 'dis_a' | 'dis_b'; parameters: number }[];
  details: string[];
}

/** Builds the networks (without training state) to count their parameters exactly as PyTorch would. */
export function describeModel(config: MunitConfig): ModelSummary {
  const genA = new AdaINGen(config.input_dim_a, config.gen);
  const genB = new AdaINGen(config.input_dim_b, config.gen);
  const disA = new MsImageDis(config.input_dim_a, config.dis);
  const disB = new MsImageDis(config.input_dim_b, config.dis);
  const gp = genA.params;
  const adain = genA.decoder.adainChannels();
  const down = 2 ** config.gen.n_downsample;
  const summary: ModelSummary = {
    networks: [
      { name: 'gen_a', parameters: gp.countParameters() },
      { name: 'gen_b', parameters: genB.params.countParameters() },
      { name: 'dis_a', parameters: disA.params.countParameters() },
      { name: 'dis_b', parameters: disB.params.countParameters() },
    ],
    details: [
      `  per generator: enc_style ${gp.countParameters('enc_style.')}, enc_content ${gp.countParameters('enc_content.')}, dec ${gp.countParameters('dec.')}, mlp ${gp.countParameters('mlp.')}`,
      `  style code: ${config.gen.style_dim} numbers; content code: ${genA.contentEncoder.outDim} channels at 1/${down} of the crop (${Math.floor(config.crop_image_height / down)}x${Math.floor(config.crop_image_width / down)})`,
      `  AdaIN: ${adain.length} layers, ${adain.reduce((s, c) => s + 2 * c, 0)} parameters from the MLP`,
      `  discriminator: ${config.dis.num_scales} scales of ${disA.params.countParameters() / config.dis.num_scales} parameters, ${config.dis.gan_type}`,
    ],
  };
  for (const net of [genA, genB, disA, disB]) net.dispose();
  return summary;
}
